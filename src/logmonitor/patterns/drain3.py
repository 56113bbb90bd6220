"""Drain3 behind LogMonitor's miner interface: the peer the benchmarks compare with,
and a second opinion in tests."""

from __future__ import annotations

from collections.abc import Sequence

from drain3 import TemplateMiner as _Drain3
from drain3.masking import MaskingInstruction
from drain3.template_miner_config import TemplateMinerConfig

from ..records import Match, Record
from .families import Change
from .masking import DEFAULT_MASKS

__all__ = ["Drain3Miner"]

_CHANGES: dict[str, Change] = {
    "cluster_created": "created",
    "cluster_template_changed": "updated",
    "none": "unchanged",
}


class Drain3Miner:
    """Drain3 with LogMonitor's masks and a template cap, for comparison.

    Configured in code (Drain3 would otherwise read ``drain3.ini`` from the working
    directory); past ``max_templates`` Drain3 evicts the least recently matched.

    >>> from logmonitor.records import LogLine, Record
    >>> miner = Drain3Miner()
    >>> def rec(text):
    ...     return Record(LogLine("s", "s", text, 0, 0, 1, 0.0), message=text)
    >>> a, b = miner.add_batch([rec("took 12 ms on 10.0.0.1"), rec("took 13 ms on 10.0.0.2")])
    >>> a.template_id == b.template_id, b.template
    (True, 'took <NUM> ms on <IP>')
    """

    def __init__(
        self,
        sim_th: float = 0.4,
        depth: int = 4,
        max_children: int = 100,
        max_templates: int = 10_000,
        masks: Sequence[tuple[str, str]] = DEFAULT_MASKS,
    ) -> None:
        config = TemplateMinerConfig()
        config.drain_sim_th = sim_th
        config.drain_depth = depth
        config.drain_max_children = max_children
        config.drain_max_clusters = max_templates
        config.masking_instructions = [MaskingInstruction(p, name) for p, name in masks]
        config.parametrize_numeric_tokens = True
        self.max_templates = max_templates
        self._drain = _Drain3(persistence_handler=None, config=config)

    def add_batch(self, records: Sequence[Record]) -> list[Match]:
        add = self._drain.add_log_message
        out = []
        for record in records:
            result = add(record.message)
            out.append(
                Match(
                    template_id=int(result["cluster_id"]),
                    template=str(result["template_mined"]),
                    change=_CHANGES.get(str(result["change_type"]), "updated"),
                )
            )
        return out

    def template(self, template_id: int) -> str | None:
        cluster = self._drain.drain.id_to_cluster.get(template_id)
        return None if cluster is None else str(cluster.get_template())

    def __len__(self) -> int:
        return len(self._drain.drain.id_to_cluster)
