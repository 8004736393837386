"""The help screen: keys and what each screen does."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

HELP = """\
# custodian

| Key | Where | Does |
|---|---|---|
| `/` | home | search customers, systems, credentials (fuzzy) |
| `↓` `enter` | home | from the search box to the list; reveal the credential |
| `c` | home, reveal | copy the password (or the field); the clipboard clears itself |
| `h` | home | history of the credential; `enter` reveals a version |
| `i` | home | the credential's card: metadata, fields, versions, who can open it |
| `e` / `Delete` | home | edit (rename, move, username, URL, tags, notes) / delete the credential |
| `E` / `shift+Delete` | home | edit (name, kind, host, port, notes) / delete its system |
| `t` / `T` | home | retire (or un-retire) the credential / list retired ones too |
| `space` | reveal | show the field for a few seconds; again hides it |
| `s` | reveal | save the field (an attachment) to a new file, mode 0600 |
| `r` | home | reload |
| `F2` | home | the access log (filters, detail, chart, verify, export) |
| `f` | log | to the filters |
| `x` / `J` | log | export what the table lists to CSV / JSON (asks for the file) |
| `V` / `g` / `s` | log | verify the chain / show the chart / split it by customer |
| `F3` | home | admin (admins only) |
| `ctrl+l` | anywhere | lock now |
| `ctrl+p` | anywhere | command palette: every action |
| `escape` | anywhere | back |
| `ctrl+q` | anywhere | quit |

Every reveal and every copy is recorded in the access log before the value is shown.
Customers that require a reason ask for one (a ticket number), remembered for the session.
The session locks itself after a few idle minutes.
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,f1", "close", "Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box", classes="dialog"):
            yield Markdown(HELP)

    def action_close(self) -> None:
        self.dismiss(None)
