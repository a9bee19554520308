from pipeline.roles import user_roles


def navigation(request):
    user = getattr(request, "user", None)
    roles = user_roles(user)
    return {"user_roles": roles}
