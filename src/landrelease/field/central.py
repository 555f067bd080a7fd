"""Pull submissions from a live ODK Central server with pyodk (the optional `field` extra).

pyodk reads the server's URL and the credentials from its config file
(~/.pyodk_config.toml, or `config_path`); the submissions come as the OData table with its
repeats expanded, read by the same reader as a downloaded OData JSON file.
"""

from __future__ import annotations

from pathlib import Path

from landrelease.domain.errors import ValidationError
from landrelease.field.submission import Submission
from landrelease.field.submissions import read_document


def pull_submissions(
    form_id: str, *, project_id: int | None = None, config_path: str | Path | None = None
) -> list[Submission]:
    """Return the submissions of `form_id` on the ODK Central server pyodk is configured for.

    ValidationError (naming what to fix) when pyodk is missing, its config cannot be read,
    or the server refuses or cannot be reached.
    """
    try:
        from pyodk.client import Client
        from pyodk.errors import PyODKError
    except ImportError:
        raise ValidationError(
            None,
            "pyodk",
            "pulling from ODK Central needs pyodk: pip install 'landrelease[field]'",
        ) from None
    if config_path is not None and not Path(config_path).is_file():
        raise ValidationError(None, "config", f"no pyodk config file at {config_path}")
    try:
        with Client(config_path=config_path, project_id=project_id) as client:
            table = client.submissions.get_table(form_id=form_id, expand="*")
    except (PyODKError, OSError) as exc:
        raise ValidationError(f"form {form_id}", "server", f"ODK Central: {exc}") from None
    return read_document(table, f"ODK Central form {form_id}", form_id)


__all__ = ["pull_submissions"]
