"""batch_fingerprint: the digest of each part of a cohort's batch as last written (issue 17)

Revision ID: 0017_fingerprint
Revises: 0001
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = "0017_fingerprint"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "batch_fingerprint",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("cohort_key", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("part", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("digest", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("written_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source", "cohort_key", "part"),
    )


def downgrade() -> None:
    op.drop_table("batch_fingerprint")
