"""The Learn tab (teaching mode): lessons played by simulated users, a live sequence
diagram, and classroom controls. The lessons themselves live in ``app.scenarios``."""

from ui.learn.tab import LearnTab

__all__ = ["LearnTab"]
