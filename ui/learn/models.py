"""Qt models of the Learn tab: the list of lessons, the steps of the shown lesson, the
diagram's rows (setup traffic folded) and the end-of-lesson checks."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from PySide6.QtCore import QAbstractListModel, QModelIndex, QObject, QPersistentModelIndex, Qt

from app.scenarios import SCENARIOS, Scenario, Step

_IDX = QModelIndex | QPersistentModelIndex

NumberRole = Qt.ItemDataRole.UserRole + 1
KeyRole = Qt.ItemDataRole.UserRole + 2
SummaryRole = Qt.ItemDataRole.UserRole + 3
ResultRole = Qt.ItemDataRole.UserRole + 4     # "", "running", "passed", "failed", "stopped"
TextRole = Qt.ItemDataRole.UserRole + 5
StepStateRole = Qt.ItemDataRole.UserRole + 6  # "pending", "current", "done"
CheckOkRole = Qt.ItemDataRole.UserRole + 7    # a check held (True) or not (False)


class ScenarioListModel(QAbstractListModel):
    """The lessons (`app.scenarios.SCENARIOS`), each with its latest result here."""

    def __init__(self, scenarios: tuple[type[Scenario], ...] = SCENARIOS,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.scenarios = list(scenarios)
        self._results: dict[str, str] = {}

    def rowCount(self, parent: _IDX = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.scenarios)

    def data(self, index: _IDX, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self.scenarios):
            return None
        cls = self.scenarios[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return cls.short or cls.title
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{cls.title}\n{cls.summary}"
        if role == NumberRole:
            return cls.number
        if role == KeyRole:
            return cls.key
        if role == SummaryRole:
            return cls.summary
        if role == ResultRole:
            return self._results.get(cls.key, "")
        return None

    def flags(self, index: _IDX) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | \
            Qt.ItemFlag.ItemNeverHasChildren

    def scenario(self, row: int) -> type[Scenario]:
        return self.scenarios[row]

    def row_of(self, key: str) -> int:
        return next((i for i, c in enumerate(self.scenarios) if c.key == key), -1)

    def set_result(self, key: str, result: str) -> None:
        row = self.row_of(key)
        if row < 0 or self._results.get(key, "") == result:
            return
        self._results[key] = result
        idx = self.index(row, 0)
        self.dataChanged.emit(idx, idx, [ResultRole])

    def result(self, key: str) -> str:
        return self._results.get(key, "")


class StepListModel(QAbstractListModel):
    """The steps of one lesson; `current` is highlighted, the ones before it are done."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.steps: list[Step] = []
        self.current = -1

    def set_steps(self, steps: tuple[Step, ...] | list[Step]) -> None:
        self.beginResetModel()
        self.steps = list(steps)
        self.current = -1
        self.endResetModel()

    def set_current(self, index: int) -> None:
        """`index` == len(steps) marks every step done (the lesson finished)."""
        index = max(-1, min(index, len(self.steps)))
        if index == self.current or not self.steps:
            self.current = index
            return
        lo, hi = sorted((max(0, self.current), max(0, index)))
        self.current = index
        hi = min(hi, len(self.steps) - 1)
        self.dataChanged.emit(self.index(lo, 0), self.index(hi, 0), [StepStateRole])

    def state(self, row: int) -> str:
        if row < self.current:
            return "done"
        return "current" if row == self.current else "pending"

    def rowCount(self, parent: _IDX = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.steps)

    def data(self, index: _IDX, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self.steps):
            return None
        step = self.steps[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return step.title
        if role in (TextRole, Qt.ItemDataRole.ToolTipRole):
            return step.text
        if role == NumberRole:
            return index.row() + 1
        if role == StepStateRole:
            return self.state(index.row())
        return None

    def flags(self, index: _IDX) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemNeverHasChildren


# -- the diagram's rows: setup traffic folded ------------------------------------------------

#: shortest run of setup packets worth folding into one row
FOLD_MIN = 2


class Foldable(Protocol):
    """What folding needs of a diagram item (ui.learn.diagram.DiagramItem)."""

    n: int
    step: int
    role: str
    ts: float


@dataclass(slots=True)
class DiagramRow:
    """One line of the diagram: a packet or note (`item`), or a fold of `count` setup
    packets (`item` None). Rows inside an open fold carry that fold's id in `fold`."""

    item: Any
    n: int                   # the item's number; a fold: its first item's
    step: int
    fold: int = -1           # id of the fold (first item's n); -1: not in a fold
    count: int = 0           # a fold: how many packets
    open: bool = False       # a fold: shown opened
    last_n: int = -1         # a fold: its last item's number
    events: tuple[str, ...] = ()   # a fold: what it holds (connect, welcome, ...)

    @property
    def is_fold(self) -> bool:
        return self.item is None

    @property
    def key(self) -> bool:
        return self.item is not None and getattr(self.item, "role", "") == "key"


def _what(item: Any) -> str:
    kind = getattr(item, "kind", "")
    if kind in ("ACK", "BINARY_ACK"):
        return "ack"
    if kind in ("EVENT", "BINARY_EVENT"):
        return str(getattr(item, "caption", "") or "event").split(" ", 1)[0]
    return str(kind).lower()


def fold_rows(items: Iterable[Foldable], shown_step: int = -1,
              opened: dict[int, bool] | None = None, min_run: int = FOLD_MIN
              ) -> list[DiagramRow]:
    """The diagram's rows: each run of at least `min_run` consecutive setup packets of
    one step becomes one fold row ("setup: 26 packets ▸"), shown opened below it when
    `opened` says so, or, by default, when it is in the step on show and that step has
    nothing but setup (a step about connecting shows its connecting)."""
    items = list(items)
    opened = opened or {}
    keyed = {i.step for i in items if i.role == "key"}
    rows: list[DiagramRow] = []
    i = 0
    while i < len(items):
        item = items[i]
        j = i
        while j < len(items) and items[j].role == "setup" and items[j].step == item.step:
            j += 1
        if j - i < min_run:
            rows.append(DiagramRow(item, item.n, item.step))
            i += 1
            continue
        run = items[i:j]
        fid = run[0].n
        is_open = opened.get(fid, item.step == shown_step and item.step not in keyed)
        seen: list[str] = []
        for r in run:
            what = _what(r)
            if what not in seen:
                seen.append(what)
        rows.append(DiagramRow(None, fid, item.step, fid, len(run), is_open, run[-1].n,
                               tuple(seen)))
        if is_open:
            rows.extend(DiagramRow(r, r.n, r.step, fid) for r in run)
        i = j
    return rows


# -- the end-of-lesson checks ----------------------------------------------------------------

class CheckListModel(QAbstractListModel):
    """The checks a lesson ran after its last step, one row each, ✓ or ✗; off the
    diagram, because they are not part of what the class watches happen."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.lines: list[str] = []
        self.state = "idle"          # "idle" | "checking" | "done" | "stopped"

    def set_checking(self) -> None:
        self.beginResetModel()
        self.lines = []
        self.state = "checking"
        self.endResetModel()

    def set_lines(self, lines: list[str], stopped_why: str = "") -> None:
        """The checks' findings ("✓ …" / "✗ …"); none with `stopped_why`: the lesson
        stopped before its checks could run."""
        self.beginResetModel()
        self.lines = list(lines) if lines else ([f"✗ {stopped_why.lstrip('✗ ')}"]
                                               if stopped_why else [])
        self.state = "done" if lines else ("stopped" if stopped_why else "idle")
        self.endResetModel()

    def clear(self) -> None:
        self.beginResetModel()
        self.lines = []
        self.state = "idle"
        self.endResetModel()

    @property
    def passed(self) -> int:
        return sum(1 for line in self.lines if line.startswith("✓"))

    @property
    def failed(self) -> int:
        return sum(1 for line in self.lines if line.startswith("✗"))

    def rowCount(self, parent: _IDX = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.lines)

    def data(self, index: _IDX, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self.lines):
            return None
        line = self.lines[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return line
        if role == CheckOkRole:
            return line.startswith("✓")
        return None

    def flags(self, index: _IDX) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemNeverHasChildren
