"""Print the ticket state machine as a Mermaid diagram (pasted into the README)."""

from typing import Any

from django.core.management.base import BaseCommand

from workflows.states import CLOSED_STATES
from workflows.transitions import REGISTRY


class Command(BaseCommand):
    help = "Print the ticket state machine (workflows.transitions.REGISTRY) as a Mermaid state diagram."

    def handle(self, *args: Any, **options: Any) -> None:
        lines = ["stateDiagram-v2", "    [*] --> received"]
        edges = sorted((str(source), spec.name, spec) for spec in REGISTRY.values() for source in spec.source)
        for source, name, spec in edges:
            for target in spec.targets():
                lines.append(f"    {source} --> {target}: {name}")
        for final in CLOSED_STATES:
            lines.append(f"    {final} --> [*]")
        self.stdout.write("\n".join(lines))
