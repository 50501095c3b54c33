from ninja import Router

router = Router(tags=["预算编制"])
