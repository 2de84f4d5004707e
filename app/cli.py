"""Command-line tools: campaign check, mail worker, organizers, signatures export, purge and
anonymise, database copy."""

import signal

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from flask_migrate import cli as flask_migrate_cli

from . import accounts, retention, signatures, transfer
from .campaign import CampaignError, load_campaign
from .config import campaign_file
from .export import FilterError, audited_export, parse_filters
from .mail import Deliverer, can_deliver

campaign_cli = AppGroup("campaign", help="Work with the campaign file.")
mail_cli = AppGroup("mail", help="Deliver the outbox.")
organizer_cli = AppGroup("organizer", help="Manage organizer accounts.")
signatures_cli = AppGroup("signatures", help="Export and clean up signatures.")
demo_cli = AppGroup("demo", help="Development helpers.")
# Flask-Migrate owns `db`; moving the data elsewhere is this group's job.
database_cli = AppGroup("database", help="Move the data to another database.")
CLI_ACTOR = "command line"


@campaign_cli.command("check")
@click.argument("path", required=False)
def check_campaign(path: str | None):
    """Validate a campaign file (by default the one CAMPAIGN_FILE names)."""
    path = path or current_app.config["CAMPAIGN_FILE"]
    try:
        campaign = load_campaign(path)
    except CampaignError as error:
        raise click.ClickException(str(error)) from None
    titles = " / ".join(f"{language}: {content.title!r}" for language, content in campaign.content.items())
    sources = " / ".join(str(len(content.sources)) for content in campaign.content.values())
    click.echo(f"{path}: valid. Goal {campaign.goal:,}; titles: {titles}; sources, all cited: {sources}")
    if not campaign.is_open():
        # A warning, not a failure: the closed campaign keeps its page, count and export.
        click.echo(f"Warning: the deadline {campaign.deadline} has passed; signing is closed.", err=True)


@mail_cli.command("worker")
@click.option("--poll", default=2.0, show_default=True, help="Seconds between looks at an idle outbox.")
def mail_worker(poll: float):
    """Deliver queued mail until stopped; safe to run on several hosts at once."""
    app = current_app._get_current_object()
    if not can_deliver(app):
        raise click.ClickException("MAIL_SERVER is not set: there is nowhere to deliver mail.")
    deliverer = Deliverer(app, poll_seconds=poll)
    for signal_number in (signal.SIGTERM, signal.SIGINT):
        # Finish the message in hand, then leave; the rest stays queued for the next worker.
        signal.signal(signal_number, lambda *_: deliverer.request_stop())
    click.echo("mail worker: delivering the outbox (Ctrl-C to stop)")
    deliverer.run()
    click.echo("mail worker: stopped")


@organizer_cli.command("add")
@click.argument("email")
@click.option("--password", help="The password; asked for (hidden) when left out.")
def add_organizer(email: str, password: str | None):
    """Create an organizer account."""
    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        organizer = accounts.create_organizer(email, password)
    except accounts.AccountError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Organizer {organizer.email} added. Log in at /admin/login.")


@signatures_cli.command("export")
@click.argument("file", type=click.Path(dir_okay=False, writable=True, allow_dash=True))
@click.option(
    "--status", type=click.Choice(["confirmed", "unconfirmed", "all"]), default="confirmed", show_default=True
)
@click.option("--since", help="Signed on or after this date (YYYY-MM-DD).")
@click.option("--until", help="Signed on or before this date (YYYY-MM-DD).")
@click.option("--updates", is_flag=True, help="Only signers who consent to updates.")
@click.option("--excel", is_flag=True, help="Start with a UTF-8 byte-order mark for Excel.")
def export_signatures(
    file: str, status: str, since: str | None, until: str | None, updates: bool, excel: bool
):
    """Write the same CSV as the web export to FILE ('-' for standard output)."""
    try:
        filters = parse_filters(
            {
                "status": status,
                "since": since,
                "until": until,
                "updates": "1" if updates else None,
                "excel": "1" if excel else None,
            }
        )
    except FilterError as error:
        raise click.BadParameter(str(error)) from None
    with click.open_file(file, "wb") as output:
        for chunk in audited_export(filters, actor=CLI_ACTOR):
            output.write(chunk.encode("utf-8"))


@signatures_cli.command("purge-unconfirmed")
@click.option(
    "--older-than",
    "days",
    type=click.IntRange(min=1),
    required=True,
    metavar="DAYS",
    help="Delete signatures still unconfirmed this many days after signing.",
)
def purge_unconfirmed(days: int):
    """Retention clean-up: delete signatures that were never confirmed."""
    purged = signatures.purge_unconfirmed(days, actor=CLI_ACTOR)
    click.echo(f"Deleted {purged} unconfirmed signature{'s' if purged != 1 else ''} older than {days} days.")


@signatures_cli.command("anonymise")
def anonymise_signatures():
    """Retention after the campaign: erase signers' personal data once retention_days have passed."""
    due_at = current_app.extensions["campaign"].anonymise_at()
    if due_at is None:
        click.echo("The campaign file sets no deadline and retention_days; nothing to do.")
        return
    anonymised = retention.anonymise_due(actor=CLI_ACTOR)
    click.echo(
        f"Anonymised {anonymised} signature{'s' if anonymised != 1 else ''}."
        if anonymised
        else f"Nothing to anonymise (due from {due_at:%Y-%m-%d %H:%M} UTC)."
    )


@demo_cli.command("seed")
@click.option("--count", default=400, show_default=True)
def seed_demo(count: int):
    """Add fictional signatures to an empty development database."""
    from .demo import seed_demo_signatures

    if not current_app.config["DEVELOPMENT"]:
        raise click.ClickException("demo seed only runs in development (FLASK_DEBUG=1).")
    added = seed_demo_signatures(count)
    click.echo(f"Added {added} demo signatures." if added else "Signatures exist already; nothing added.")


@database_cli.command("copy-to")
@click.argument("target_url")
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=transfer.BATCH_SIZE,
    show_default=True,
    help="Rows read and written at a time.",
)
def copy_database(target_url: str, batch_size: int):
    """Copy every row from the app's database (DATABASE_URL) into the empty database at TARGET_URL."""
    source = current_app.config["SQLALCHEMY_DATABASE_URI"]
    click.echo(
        f"Copying {transfer.display_url(source)} to {transfer.display_url(target_url)}. "
        "Signatures taken during the copy would stay behind: stop the app first."
    )
    try:
        report = transfer.copy_database(target_url, batch_size, progress=click.echo)
    except transfer.TransferError as error:
        raise click.ClickException(str(error)) from None
    click.echo(
        f"Copied, and every table's row count matches the source (schema at migration {report.revision}):"
    )
    for table in report.tables:
        next_id = f"   next id {table.next_id:,}" if table.next_id is not None else ""
        click.echo(f"  {table.name:<24}{table.rows:>12,} rows{next_id}")
    click.echo(f"Count: {report.count:,}; confirmed signatures: {report.confirmed:,}.")
    if report.count != report.counted:
        click.echo(
            "Warning: the count and the signatures it counts already differed in the source; "
            "the copy keeps both as they were.",
            err=True,
        )
    click.echo("Done. Point DATABASE_URL at the target and start the app again.")


COMMAND_GROUPS = (campaign_cli, mail_cli, organizer_cli, signatures_cli, demo_cli, database_cli)


def register_commands(app: Flask) -> None:
    """Add the project's command groups to `flask`."""
    for group in COMMAND_GROUPS:
        app.cli.add_command(group)


def loading_for_a_command() -> bool:
    """Whether `flask` is building the app to find one of its commands (not to run a server:
    `flask run` and `flask shell` load it from their own command, not from the group)."""
    context = click.get_current_context(silent=True)
    return context is not None and isinstance(context.command, click.Group)


def command_line_app(problem: Exception) -> Flask:
    """The app `flask` gets when the real one can't be built: `campaign check` works, and every
    other command (Flask-Migrate's too) prints `problem` and exits 1."""
    app = Flask(__name__.rpartition(".")[0])
    app.config["CAMPAIGN_FILE"] = campaign_file()
    for group in (*COMMAND_GROUPS, flask_migrate_cli.db):
        app.cli.add_command(_refusing(group, str(problem)))
    return app


def _refusing(command: click.Command, problem: str) -> click.Command:
    if command is check_campaign:
        return command
    if isinstance(command, click.Group):
        commands = [_refusing(sub, problem) for sub in command.commands.values()]
        return click.Group(command.name, commands, help=command.help)

    def refuse():
        raise click.ClickException(problem)

    return click.Command(
        command.name,
        callback=refuse,
        help=command.help,
        context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    )
