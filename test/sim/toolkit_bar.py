"""ai-toolkit's ToolkitProgressBar, imitated (toolkit/progress_bar.py): the real tqdm, pausable.

While paused, update() does nothing; unpause() moves the start time forward by the length of the
pause (so elapsed leaves it out) and makes "now" the last print time. pause/unpause print nothing.
The smoothing defaults to 0.7, as in ai-toolkit since 2026-08-21 (tqdm's own default is 0.3).
Shared by the simulated trainer and the tqdm oracle of the tests.
"""
from tqdm import tqdm


class ToolkitProgressBar(tqdm):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("smoothing", 0.7)
        super().__init__(*args, **kwargs)
        self.paused = False
        self.paused_at = self._time()

    def pause(self):
        if self.paused:
            return
        self.paused = True
        self.paused_at = self._time()

    def unpause(self):
        if not self.paused:
            return
        self.paused = False
        now = self._time()
        self.start_t += now - self.paused_at
        self.last_print_t = now

    def update(self, *args, **kwargs):
        if self.paused:
            return None
        return super().update(*args, **kwargs)
