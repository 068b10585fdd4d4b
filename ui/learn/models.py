"""Qt models of the Learn tab: the list of lessons and the steps of the shown lesson."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QObject, QPersistentModelIndex, Qt

from app.scenarios import SCENARIOS, Scenario, Step

_IDX = QModelIndex | QPersistentModelIndex

NumberRole = Qt.ItemDataRole.UserRole + 1
KeyRole = Qt.ItemDataRole.UserRole + 2
SummaryRole = Qt.ItemDataRole.UserRole + 3
ResultRole = Qt.ItemDataRole.UserRole + 4     # "", "running", "passed", "failed", "stopped"
TextRole = Qt.ItemDataRole.UserRole + 5
StepStateRole = Qt.ItemDataRole.UserRole + 6  # "pending", "current", "done"


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
