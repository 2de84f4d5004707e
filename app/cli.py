"""Command-line tools: `flask --app wsgi campaign check` and `flask --app wsgi mail worker`."""

import signal

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from .campaign import CampaignError, load_campaign
from .mail import Deliverer, can_deliver

campaign_cli = AppGroup("campaign", help="Work with the campaign file.")
mail_cli = AppGroup("mail", help="Deliver the outbox.")


@campaign_cli.command("check")
@click.argument("path", required=False)
def check_campaign(path: str | None):
    """Validate a campaign file (by default the one CAMPAIGN_FILE names)."""
    path = path or current_app.config["CAMPAIGN_FILE"]
    try:
        campaign = load_campaign(path)
    except CampaignError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"{path}: valid. Goal {campaign.goal:,}; "
               f"titles: {campaign.content['en'].title!r} / {campaign.content['fr'].title!r}")


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


def register_commands(app: Flask) -> None:
    """Add the project's command groups to `flask`."""
    app.cli.add_command(campaign_cli)
    app.cli.add_command(mail_cli)
