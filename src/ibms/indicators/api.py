from ninja import Router

router = Router(tags=["指标管理"])
