from django.db import migrations

# PostgreSQL only, not model state: the lead filters' campaign picker searches campaign
# names as the person types (``leads.selectors.lead_campaign_search``: ``name__icontains``,
# which Django writes ``UPPER(name::text) LIKE UPPER(%s)``). A trigram GIN index on that
# expression answers it without reading every campaign. SQLite scans its few campaigns.
INDEX = "campaign_name_trgm"


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {INDEX} ON campaigns_campaign "
        "USING gin ((UPPER(name::text)) gin_trgm_ops)"
    )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("campaigns", "0005_campaign_figures")]

    operations = [migrations.RunPython(create_index, drop_index)]
