"""Command-line tools: campaigns (check, import, export, list), mail worker, organizers,
signatures export, purge and anonymise, database copy."""

import signal
from contextlib import nullcontext
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from flask_migrate import cli as flask_migrate_cli

from . import accounts, campaigns, retention, signatures, transfer
from .campaign import CampaignError, load_campaign
from .config import campaign_file
from .counter import current_tally
from .export import FilterError, audited_export, parse_filters
from .jobs import Jobs
from .mail import can_deliver

campaign_cli = AppGroup("campaign", help="Work with campaigns and campaign files.")
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


@campaign_cli.command("import")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--slug", help="Its address, /<slug>/ (by default the file's name).")
@click.option("--draft", is_flag=True, help="Keep a new campaign unpublished.")
def import_campaign(path: str, slug: str | None, draft: bool):
    """Create or update a campaign from a campaign file (the same checks as `campaign check`)."""
    try:
        done = campaigns.import_file(path, slug=slug, draft=draft, actor=CLI_ACTOR)
    except CampaignError as error:
        raise click.ClickException(str(error)) from None
    if done.created:
        click.echo(f"Campaign {done.slug} created (revision {done.revision}): /{done.slug}/")
    elif done.changed:
        click.echo(f"Campaign {done.slug} updated to revision {done.revision}.")
    else:
        click.echo(f"Campaign {done.slug} is unchanged (revision {done.revision}).")


@campaign_cli.command("export")
@click.argument("slug")
@click.argument("file", required=False, type=click.Path(dir_okay=False, writable=True, allow_dash=True))
def export_campaign(slug: str, file: str | None):
    """Write a campaign back as a campaign file (to standard output without FILE); the files it
    names (a letter's targets) are written beside FILE."""
    try:
        document, files = campaigns.export_document(slug)
    except CampaignError as error:
        raise click.ClickException(str(error)) from None
    if file is None or file == "-":
        click.echo(document, nl=False)
        if files:
            click.echo(f"Note: name a FILE to write {', '.join(sorted(files))} beside it too.", err=True)
        return
    target = Path(file)
    target.write_text(document, encoding="utf-8")
    for name, text in files.items():
        (target.parent / name).write_text(text, encoding="utf-8")
    click.echo(f"Wrote {target}" + "".join(f", {target.parent / name}" for name in sorted(files)))


@campaign_cli.command("list")
def list_campaigns():
    """Every campaign: slug, kind, state and count."""
    every = campaigns.registry().campaigns()
    if not every:
        click.echo("No campaigns yet: `campaign import FILE` adds one.")
        return
    click.echo(f"{'slug':<32} {'kind':<12} {'state':<10} {'count':>10}")
    for campaign in every:
        with campaigns.campaign_scope(campaign):
            count = current_tally().count
        click.echo(f"{campaign.slug:<32} {campaign.kind:<12} {campaign.state:<10} {count:>10,}")


def _one_campaign(slug: str | None):
    """The campaign a command works on: the one named, else the deployment's only (or home) one."""
    registry = campaigns.registry()
    if slug is not None:
        campaign = registry.by_slug.get(slug)
        if campaign is None:
            raise click.BadParameter(f'no campaign "{slug}"', param_hint="--campaign")
        return campaign
    if registry.home is None:
        raise click.ClickException("There is no campaign yet: `campaign import FILE` adds one.")
    return registry.home


def _chosen_campaigns(slug: str | None) -> list:
    """The campaign named, or every campaign."""
    return [_one_campaign(slug)] if slug is not None else campaigns.registry().campaigns()


CAMPAIGN_OPTION = click.option("--campaign", "slug", metavar="SLUG", help="One campaign (by default, all).")


@mail_cli.command("worker")
@click.option("--poll", default=2.0, show_default=True, help="Seconds between looks at an idle outbox.")
def mail_worker(poll: float):
    """Deliver queued mail until stopped; safe to run on several hosts at once."""
    app = current_app._get_current_object()
    if not can_deliver(app):
        raise click.ClickException("MAIL_SERVER is not set: there is nowhere to deliver mail.")
    jobs = Jobs(app, poll_seconds=poll)
    for signal_number in (signal.SIGTERM, signal.SIGINT):
        # Finish the message in hand, then leave; the rest stays queued for the next worker.
        signal.signal(signal_number, lambda *_: jobs.request_stop())
    click.echo("mail worker: delivering the outbox (Ctrl-C to stop)")
    jobs.start(mail=False)  # retention and the kinds' work beside it
    jobs.run()
    jobs.stop()
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
@click.option(
    "--campaign",
    "slug",
    metavar="SLUG",
    help="One campaign's signatures; by default the only campaign's, or every campaign's with a "
    "`campaign` column.",
)
def export_signatures(
    file: str, status: str, since: str | None, until: str | None, updates: bool, excel: bool, slug: str | None
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
    registry = campaigns.registry()
    across = slug is None and len(registry.campaigns()) > 1
    scope = nullcontext() if across else campaigns.campaign_scope(_one_campaign(slug))
    with scope, click.open_file(file, "wb") as output:
        for chunk in audited_export(filters, actor=CLI_ACTOR, across_campaigns=across):
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
@CAMPAIGN_OPTION
def purge_unconfirmed(days: int, slug: str | None):
    """Retention clean-up: delete signatures that were never confirmed."""
    purged = 0
    for campaign in _chosen_campaigns(slug):
        with campaigns.campaign_scope(campaign):
            purged += signatures.purge_unconfirmed(days, actor=CLI_ACTOR)
    click.echo(f"Deleted {purged} unconfirmed signature{'s' if purged != 1 else ''} older than {days} days.")


@signatures_cli.command("anonymise")
@CAMPAIGN_OPTION
def anonymise_signatures(slug: str | None):
    """Retention after the campaign: erase signers' personal data once retention_days have passed."""
    for campaign in _chosen_campaigns(slug):
        with campaigns.campaign_scope(campaign):
            _anonymise(campaign)


def _anonymise(campaign) -> None:
    named = f"{campaign.slug}: " if len(campaigns.registry().campaigns()) > 1 else ""
    due_at = campaign.anonymise_at()
    if due_at is None:
        click.echo(f"{named}The campaign file sets no deadline and retention_days; nothing to do.")
        return
    anonymised = retention.anonymise_due(actor=CLI_ACTOR)
    click.echo(
        named
        + (
            f"Anonymised {anonymised} signature{'s' if anonymised != 1 else ''}."
            if anonymised
            else f"Nothing to anonymise (due from {due_at:%Y-%m-%d %H:%M} UTC)."
        )
    )


@demo_cli.command("seed")
@click.option("--count", default=400, show_default=True)
def seed_demo(count: int):
    """Add fictional signatures to each campaign that has none yet."""
    from .demo import seed_demo_signatures

    if not current_app.config["DEVELOPMENT"]:
        raise click.ClickException("demo seed only runs in development (FLASK_DEBUG=1).")
    every = campaigns.registry().campaigns()
    for campaign in every:
        with campaigns.campaign_scope(campaign):
            added = seed_demo_signatures(count)
        named = f"{campaign.slug}: " if len(every) > 1 else ""
        click.echo(
            f"{named}Added {added} demo signatures."
            if added
            else f"{named}Signatures exist already; nothing added."
        )


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
