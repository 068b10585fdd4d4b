"""The Learn tab's pacing row: Pause / Resume, Previous step, Next step, the step-by-step
switch, and one sentence on what the lesson is waiting for.

Why a row of its own: a teacher paces a lesson to the class, not to the engine's clock.
The controls act on the run itself (``app.scenarios.ScenarioRun.pause()`` and friends,
see ``app.scenarios.pacing``), so a paused lesson sends nothing; the keys that drive
them (Space, →, PageDown / ←, PageUp: what presenter clickers send) are bound in
``ui.learn.tab``.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QWidget

from ui import theme
from ui.learn.widgets import ToggleSwitch
from ui.widgets.buttons import tool_button

IDLE_WORDS = ("Space or → plays the next step, ← or PageUp looks back; a presenter "
              "clicker works too.")


class PacingBar(QWidget):
    """Pause, Previous, Next and step by step for the run on show (`attach`)."""

    #: the teacher pressed Next with no lesson running (the tab starts one)
    start_requested = Signal()
    #: the step on view changed by Previous / Next (-1: following the run again)
    view_changed = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("pacingBar")
        self.run: Any = None
        self._viewing = -1
        self.pause_button = tool_button("Hold the lesson: nothing more is sent until you "
                                        "resume", icon="pause", text="Pause",
                                        name="lessonPause")
        self.pause_button.clicked.connect(self.toggle_pause)
        self.previous_button = tool_button("Look at the previous step again (← or "
                                           "PageUp). Packets cannot be un-sent: this "
                                           "replays the diagram view of that step.",
                                           text="◀ Previous", name="previousStep")
        self.previous_button.clicked.connect(self.previous_step)
        self.next_button = tool_button("Play exactly one more step (Space, → or PageDown)",
                                       text="Next step ▶", name="nextStep")
        self.next_button.clicked.connect(self.next_step)
        self.step_switch = ToggleSwitch("Step by step", on_color="#3e8ef7")
        self.step_switch.setObjectName("stepByStep")
        self.step_switch.setToolTip("Each step waits for you: press Next (or Space) to "
                                    "play it")
        self.step_switch.toggled.connect(self._step_by_step_toggled)
        self.status = QLabel(IDLE_WORDS)
        self.status.setObjectName("hint")
        self.status.setWordWrap(True)
        self.status.setMinimumWidth(120)
        self.status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(6)
        for w in (self.pause_button, self.previous_button, self.next_button):
            lay.addWidget(w)
        lay.addSpacing(6)
        lay.addWidget(self.step_switch)
        lay.addSpacing(6)
        lay.addWidget(self.status, 1)
        self.refresh()

    # -- the run -------------------------------------------------------------------------
    def attach(self, run: Any) -> None:
        """Show (and drive) `run`; it takes the step-by-step switch as it stands."""
        self.run = run
        self._viewing = -1
        if run is not None:
            run.step_by_step = self.step_switch.isChecked()
        self.refresh()

    @property
    def running(self) -> bool:
        return self.run is not None and self.run.state.value == "running"

    # -- actions -------------------------------------------------------------------------
    def toggle_pause(self) -> None:
        if not self.running:
            return
        if self.run.paused:
            self.run.resume()
        else:
            self.run.pause()
        self.refresh()

    def next_step(self) -> str:
        """Next: forward through steps looked back at, else one more step of the run;
        with no lesson on show it asks the tab to start one. Says what it did."""
        run = self.run
        if run is None:
            self.start_requested.emit()
            return "start"
        if run.viewing < 0 and not self.running:
            return "none"
        did = str(run.next_step())
        self.refresh()
        return did

    def previous_step(self) -> int:
        """Look back one step (the run holds meanwhile); the step now on view or -1."""
        if self.run is None:
            return -1
        shown = int(self.run.previous_step())
        self.refresh()
        return shown

    def _step_by_step_toggled(self, on: bool) -> None:
        if self.run is not None:
            self.run.step_by_step = on
        self.refresh()

    # -- look ----------------------------------------------------------------------------
    def refresh(self) -> None:
        """Buttons and the sentence follow the run (called on its pacing_changed)."""
        run = self.run
        running = self.running
        paused = bool(running and run.paused)
        self.pause_button.setEnabled(running)
        self.pause_button.setText("Resume" if paused else "Pause")
        self.pause_button.setIcon(theme.icon("play" if paused else "pause"))
        viewing = int(run.viewing) if run is not None else -1
        current = int(run.current) if run is not None else -1
        self.previous_button.setEnabled(run is not None and (viewing > 0 or
                                                             (viewing < 0 and current > 0)))
        self.next_button.setEnabled(run is None or running or viewing >= 0)
        self.status.setText(self._sentence(run, running, paused, viewing))
        if viewing != self._viewing:
            self._viewing = viewing
            self.view_changed.emit(viewing)

    @staticmethod
    def _sentence(run: Any, running: bool, paused: bool, viewing: int) -> str:
        if run is None:
            return IDLE_WORDS
        if viewing >= 0:
            return (f"Looking back at step {viewing + 1}: the lesson holds, and packets "
                    "cannot be un-sent, so this replays the diagram view of that step. "
                    "Next (→) goes forward again.")
        if not running:
            return IDLE_WORDS
        if paused:
            return ("Paused: the lesson holds and its users send nothing. Resume, or Next "
                    "(Space) for exactly one step.")
        if run.held:
            return "Waiting for you: Next (Space, →) plays the next step."
        if run.step_by_step:
            return "Step by step: this step plays, then the lesson waits for you."
        return "Playing. Pause holds the lesson itself; Space plays one step at a time."
