from ninja import Router

router = Router(tags=["国库集中支付"])
