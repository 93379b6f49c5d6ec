"""Print the ticket state machine as a Mermaid diagram (pasted into the README)."""

from typing import Any

from django.core.management.base import BaseCommand
from django_fsm import RETURN_VALUE

from helpdesk.models import Ticket


class Command(BaseCommand):
    help = "Print the ticket state machine as a Mermaid state diagram."

    def handle(self, *args: Any, **options: Any) -> None:
        lines = ["stateDiagram-v2", "    [*] --> received"]
        for transition in sorted(
            Ticket._meta.get_field("state").get_all_transitions(Ticket),
            key=lambda t: (str(t.source), t.name),
        ):
            targets = (
                transition.target.allowed_states if isinstance(transition.target, RETURN_VALUE)
                else [transition.target]
            )
            for target in targets:
                lines.append(f"    {transition.source} --> {target}: {transition.name}")
        for final in ("responded", "rejected", "withdrawn"):
            lines.append(f"    {final} --> [*]")
        self.stdout.write("\n".join(lines))
