"""The command palette's entries for the selected credential on the home screen; each
is listed only when the session offers what it calls (`service_features.can`)."""

SELECTED_COMMANDS = (
    ("Reveal", "reveal", "Show the selected credential"),
    ("Copy", "copy", "Copy the selected password"),
    ("History", "history", "Versions of the selected credential"),
    ("Show", "show", "Metadata, fields, versions, who can open it"),
    ("Edit", "edit", "Rename, move or edit the credential"),
    ("Delete", "delete", "Delete the credential (admins)"),
    ("Edit system", "edit_system", "The system's name, kind, host, port, notes"),
    ("Delete system", "delete_system", "Delete the system (admins)"),
    ("Retire", "retire", "Retire the credential (kept, out of the list), or un-retire it"),
    ("Show retired", "toggle_retired", "List retired credentials too, or hide them"),
    ("Rotate", "rotate", "Change it on the device"),
)
