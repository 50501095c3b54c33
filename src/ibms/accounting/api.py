from ninja import Router

router = Router(tags=["会计核算"])
