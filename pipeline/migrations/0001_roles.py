"""Role groups with model permissions (the admin honours them; services check roles)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

VIEW, ADD, CHANGE, DELETE = "view", "add", "change", "delete"

ROLES = {
    "marketer": {
        "campaigns.channel": [VIEW],
        "campaigns.campaign": [VIEW, ADD, CHANGE],
        "campaigns.campaigncost": [VIEW, ADD, CHANGE, DELETE],
        "leads.company": [VIEW, ADD, CHANGE],
        "leads.lead": [VIEW, ADD, CHANGE],
        "leads.leadtouch": [VIEW, ADD],
        "leads.leadevent": [VIEW],
    },
    "lead_desk": {
        "campaigns.channel": [VIEW],
        "campaigns.campaign": [VIEW],
        "campaigns.campaigncost": [VIEW],
        "leads.company": [VIEW, ADD, CHANGE],
        "leads.lead": [VIEW, ADD, CHANGE],
        "leads.leadtouch": [VIEW, ADD],
        "leads.leadevent": [VIEW],
        "leads.followup": [VIEW],
        "assignment.team": [VIEW],
        "assignment.teammembership": [VIEW],
    },
    "sales_rep": {
        "leads.company": [VIEW],
        "leads.lead": [VIEW],
        "leads.leadevent": [VIEW],
        "leads.followup": [VIEW, ADD],
    },
    "sales_manager": {
        "leads.company": [VIEW],
        "leads.lead": [VIEW],
        "leads.leadevent": [VIEW],
        "leads.followup": [VIEW, ADD],
        "assignment.team": [VIEW],
        "assignment.teammembership": [VIEW, CHANGE],
    },
    "manager": {
        "campaigns.channel": [VIEW],
        "campaigns.campaign": [VIEW],
        "campaigns.campaigncost": [VIEW],
        "leads.company": [VIEW],
        "leads.lead": [VIEW],
        "leads.leadtouch": [VIEW],
        "leads.leadevent": [VIEW],
        "leads.followup": [VIEW],
        "assignment.team": [VIEW],
        "assignment.teammembership": [VIEW],
    },
}


def create_roles(apps, schema_editor):
    # Permissions are normally made after migrate; make them now so groups can hold them.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, grants in ROLES.items():
        group, _ = Group.objects.get_or_create(name=role)
        codenames = []
        for label, actions in grants.items():
            app_label, model = label.split(".")
            codenames += [(app_label, f"{action}_{model}") for action in actions]
        perms = [
            Permission.objects.get(content_type__app_label=app, codename=codename)
            for app, codename in codenames
        ]
        group.permissions.set(perms)


def drop_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("campaigns", "0001_initial"),
        ("leads", "0001_initial"),
        ("assignment", "0001_initial"),
    ]
    operations = [migrations.RunPython(create_roles, drop_roles)]
