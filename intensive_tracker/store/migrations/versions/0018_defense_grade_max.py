"""defense.grade_max: the assignment's maximum points, so a grade reads «8 из 10» (issue 15)

Revision ID: 0018_defense_grade_max
Revises: 0001
"""

from alembic import op
import sqlalchemy as sa


revision = "0018_defense_grade_max"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("defense", sa.Column("grade_max", sa.Float(), nullable=True))


def downgrade() -> None:
    op.drop_column("defense", "grade_max")
