from ninja import Router

router = Router(tags=["项目库"])
