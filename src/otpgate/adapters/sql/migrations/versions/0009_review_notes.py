"""evaluations keep their reviewer's notes, sealed

Revision ID: 0009
Revises: 0008

``PUT /api/evaluation/{eval_id}/state`` takes ``notes``: free text a reviewer may fill
with personal data. Until now only the audit event held them (in plain text); they now
live in ``evaluations.notes``, sealed like ``individual`` (``sealed.py``), answered in
every evaluation answer's ``notes`` and purged with the evaluation. Audit events record
that the notes changed, not what they say.

Notes written before this migration stay in their audit events: this migration does not
move them (the keys that seal them live outside the database), so an operator who wants
them with their evaluation sets them again with a ``PUT``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("evaluations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("notes", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("evaluations", schema=None) as batch_op:
        batch_op.drop_column("notes")
