from ninja import Router

router = Router(tags=["动态监控"])
