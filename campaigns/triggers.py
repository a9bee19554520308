"""The database triggers that keep ``CampaignFigures`` (docs/architecture.md, "Campaign
figures").

``campaigns_campaignfigures`` holds one row per campaign (made by a trigger when the
campaign is inserted), changed by triggers on ``leads_lead`` (insert, delete, and updates of
``source_campaign_id`` / ``mql_at``) and on ``campaigns_campaigncost`` in the same
transaction as the write, whatever wrote it: services, set-based ``UPDATE``s, ``COPY``,
cascades. PostgreSQL sums each statement's transition tables (one counter update per
campaign per statement, the rows locked in campaign order); SQLite, without statement
triggers, updates per row. ``TRUNCATE`` fires none: ``rebuild`` after it.

The counted rule is ``campaigns.selectors.live_figures``; a property test holds the
triggers to it.
"""

from __future__ import annotations

from django.db import transaction
from django.db.backends.base.base import BaseDatabaseWrapper

# --------------------------------------------------------------------------------------
# PostgreSQL: statement-level triggers over transition tables.
# --------------------------------------------------------------------------------------

#: Apply the net change per campaign of the rows in ``delta`` (campaign_id, leads, mqls,
#: cost), locking the counter rows in campaign order (no deadlock between two writers).
PG_APPLY = """
    WITH delta AS ({delta}),
    net AS (
        SELECT campaign_id, sum(leads) AS leads, sum(mqls) AS mqls, sum(cost) AS cost
        FROM delta WHERE campaign_id IS NOT NULL GROUP BY campaign_id
        HAVING sum(leads) <> 0 OR sum(mqls) <> 0 OR sum(cost) <> 0
    ),
    locked AS (
        SELECT f.campaign_id FROM campaigns_campaignfigures f JOIN net USING (campaign_id)
        ORDER BY f.campaign_id FOR UPDATE OF f
    )
    UPDATE campaigns_campaignfigures f
    SET leads = f.leads + net.leads, mqls = f.mqls + net.mqls, cost = f.cost + net.cost
    FROM net JOIN locked USING (campaign_id)
    WHERE f.campaign_id = net.campaign_id;
"""

LEAD_ROWS = (
    "SELECT source_campaign_id AS campaign_id, {sign}count(*) AS leads, "
    "{sign}count(mql_at) AS mqls, 0::numeric AS cost FROM {table} GROUP BY 1"
)
COST_ROWS = (
    "SELECT campaign_id, 0::bigint AS leads, 0::bigint AS mqls, {sign}sum(amount) AS cost "
    "FROM {table} GROUP BY 1"
)


def _pg_trigger(name: str, table: str, event: str, delta: str, transition: str) -> str:
    return f"""
    CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        {PG_APPLY.format(delta=delta)}
        RETURN NULL;
    END $$;
    CREATE TRIGGER {name} AFTER {event} ON {table}
    REFERENCING {transition} FOR EACH STATEMENT EXECUTE FUNCTION {name}();
    """


def _pg_triggers(prefix: str, table: str, rows: str) -> list[tuple[str, str]]:
    added = rows.format(sign="", table="added")
    removed = rows.format(sign="-", table="removed")
    return [
        (
            f"{prefix}_insert",
            _pg_trigger(f"{prefix}_insert", table, "INSERT", added, "NEW TABLE AS added"),
        ),
        (
            f"{prefix}_delete",
            _pg_trigger(f"{prefix}_delete", table, "DELETE", removed, "OLD TABLE AS removed"),
        ),
        (
            f"{prefix}_update",
            _pg_trigger(
                f"{prefix}_update",
                table,
                "UPDATE",
                f"{removed} UNION ALL {added}",
                "OLD TABLE AS removed NEW TABLE AS added",
            ),
        ),
    ]


PG_TRIGGERS = [
    *_pg_triggers("campaigns_figures_lead", "leads_lead", LEAD_ROWS),
    *_pg_triggers("campaigns_figures_cost", "campaigns_campaigncost", COST_ROWS),
]
PG_NEW_CAMPAIGN = """
    CREATE FUNCTION campaigns_figures_campaign() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO campaigns_campaignfigures (campaign_id, leads, mqls, cost)
        SELECT id, 0, 0, 0 FROM added ON CONFLICT (campaign_id) DO NOTHING;
        RETURN NULL;
    END $$;
    CREATE TRIGGER campaigns_figures_campaign AFTER INSERT ON campaigns_campaign
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT
    EXECUTE FUNCTION campaigns_figures_campaign();
"""


def _pg_forward() -> str:
    return PG_NEW_CAMPAIGN + "".join(sql for _name, sql in PG_TRIGGERS)


def _pg_backward() -> str:
    names = ["campaigns_figures_campaign", *(name for name, _sql in PG_TRIGGERS)]
    tables = {"campaigns_figures_campaign": "campaigns_campaign"}
    return "".join(
        f"DROP TRIGGER IF EXISTS {name} ON "
        f"{tables.get(name, 'leads_lead' if '_lead_' in name else 'campaigns_campaigncost')};"
        f"DROP FUNCTION IF EXISTS {name}();"
        for name in names
    )


# --------------------------------------------------------------------------------------
# SQLite: row-level triggers.
# --------------------------------------------------------------------------------------

SQLITE_LEAD = "leads = leads {op} 1, mqls = mqls {op} ({row}.mql_at IS NOT NULL)"
SQLITE_COST = "cost = cost {op} {row}.amount"


def _sqlite_triggers(prefix: str, table: str, campaign: str, change: str, columns: str):
    def update(op: str, row: str) -> str:
        return (
            f"UPDATE campaigns_campaignfigures SET {change.format(op=op, row=row)} "  # noqa: S608
            f"WHERE campaign_id = {row}.{campaign};"
        )

    return [
        (
            f"{prefix}_insert",
            f"CREATE TRIGGER {prefix}_insert AFTER INSERT ON {table} "
            f"BEGIN {update('+', 'NEW')} END;",
        ),
        (
            f"{prefix}_delete",
            f"CREATE TRIGGER {prefix}_delete AFTER DELETE ON {table} "
            f"BEGIN {update('-', 'OLD')} END;",
        ),
        (
            f"{prefix}_update",
            f"CREATE TRIGGER {prefix}_update AFTER UPDATE OF {columns} ON {table} "
            f"BEGIN {update('-', 'OLD')} {update('+', 'NEW')} END;",
        ),
    ]


SQLITE_TRIGGERS = [
    (
        "campaigns_figures_campaign",
        "CREATE TRIGGER campaigns_figures_campaign AFTER INSERT ON campaigns_campaign "
        "BEGIN INSERT OR IGNORE INTO campaigns_campaignfigures (campaign_id, leads, mqls, cost) "
        "VALUES (NEW.id, 0, 0, 0); END;",
    ),
    *_sqlite_triggers(
        "campaigns_figures_lead",
        "leads_lead",
        "source_campaign_id",
        SQLITE_LEAD,
        "source_campaign_id, mql_at",
    ),
    *_sqlite_triggers(
        "campaigns_figures_cost",
        "campaigns_campaigncost",
        "campaign_id",
        SQLITE_COST,
        "campaign_id, amount",
    ),
]

NAMES = [name for name, _sql in SQLITE_TRIGGERS]


def installed(connection: BaseDatabaseWrapper) -> set[str]:
    """The names of the figure triggers present in the database."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT tgname FROM pg_trigger WHERE tgname LIKE 'campaigns\\_figures\\_%'"
            )
        else:
            cursor.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' "
                "AND name LIKE 'campaigns\\_figures\\_%' ESCAPE '\\'"
            )
        return {row[0] for row in cursor.fetchall()}


def install(connection: BaseDatabaseWrapper) -> None:
    """Create the triggers and fill every campaign's row from the tables, in one
    transaction (on PostgreSQL with the three tables locked against writes until it
    commits, so no write falls between the two)."""
    vendor = connection.vendor
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        if vendor == "postgresql":
            cursor.execute(
                "LOCK TABLE leads_lead, campaigns_campaigncost, campaigns_campaign "
                "IN SHARE ROW EXCLUSIVE MODE"
            )
            cursor.execute(_pg_forward())
        elif vendor == "sqlite":
            for _name, sql in SQLITE_TRIGGERS:
                cursor.execute(sql)
        else:  # pragma: no cover - the project runs on PostgreSQL and SQLite only
            raise NotImplementedError(vendor)
        rebuild(connection.alias)


def uninstall(connection: BaseDatabaseWrapper) -> None:
    vendor = connection.vendor
    with connection.cursor() as cursor:
        if vendor == "postgresql":
            cursor.execute(_pg_backward())
        elif vendor == "sqlite":
            for name in NAMES:
                cursor.execute(f"DROP TRIGGER IF EXISTS {name}")


def ensure(connection: BaseDatabaseWrapper) -> bool:
    """Reinstall the triggers if any is missing (SQLite drops a table's triggers when a
    migration remakes the table) and rebuild the figures; True if it had to."""
    if installed(connection) == set(NAMES):
        return False
    with transaction.atomic(using=connection.alias):
        uninstall(connection)
        install(connection)
    return True


def rebuild(using: str = "default") -> None:
    """Every campaign's row recomputed from the tables (``live_figures``): after a
    ``TRUNCATE``, which fires no trigger, or to repair."""
    from campaigns.models import Campaign, CampaignFigures
    from campaigns.selectors import live_figures

    with transaction.atomic(using=using):
        CampaignFigures.objects.using(using).all().delete()
        rows = live_figures(Campaign.objects.using(using).order_by()).values_list(
            "pk", "actual_cost_sum", "lead_count", "mql_count"
        )
        CampaignFigures.objects.using(using).bulk_create(
            (
                CampaignFigures(campaign_id=pk, cost=cost, leads=leads, mqls=mqls)
                for pk, cost, leads, mqls in list(rows)
            ),
            batch_size=2000,
        )
