"""create the feature store: views, snapshots, the online store, saved training sets

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 13:13:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('feature_view',
    sa.Column('name', sa.String(length=63), nullable=False),
    sa.Column('latest_snapshot', sa.BigInteger(), nullable=False),
    sa.Column('rows', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_feature_view'))
    )
    op.create_table('online_row',
    sa.Column('view', sa.String(length=63), nullable=False),
    sa.Column('entity_key', sa.String(length=1024), nullable=False),
    sa.Column('ts_us', sa.BigInteger(), nullable=False),
    sa.Column('snapshot', sa.BigInteger(), nullable=False),
    sa.Column('batch_id', sa.Uuid(), nullable=False),
    sa.Column('contract_version', sa.String(length=32), nullable=False),
    sa.Column('values', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('view', 'entity_key', name=op.f('pk_online_row'))
    )
    op.create_table('training_set',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('view', sa.String(length=63), nullable=False),
    sa.Column('features', sa.JSON(), nullable=False),
    sa.Column('snapshot', sa.BigInteger(), nullable=False),
    sa.Column('timestamp_column', sa.String(length=255), nullable=False),
    sa.Column('lineage', sa.Boolean(), nullable=False),
    sa.Column('rows', sa.BigInteger(), nullable=False),
    sa.Column('entity_sha256', sa.String(length=64), nullable=False),
    sa.Column('entity_key', sa.String(length=255), nullable=False),
    sa.Column('output_schema', sa.JSON(), nullable=False),
    sa.Column('data_sha256', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.Uuid(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_training_set'))
    )
    op.create_index('ix_training_set_view_created', 'training_set', ['view', 'created_at'])

    op.create_table('feature_snapshot',
    sa.Column('view', sa.String(length=63), nullable=False),
    sa.Column('snapshot', sa.BigInteger(), nullable=False),
    sa.Column('batch_id', sa.Uuid(), nullable=False),
    sa.Column('contract_version', sa.String(length=32), nullable=False),
    sa.Column('rows', sa.BigInteger(), nullable=False),
    sa.Column('delta_version', sa.BigInteger(), nullable=False),
    sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['batch.id'], name=op.f('fk_feature_snapshot_batch_id_batch'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['view'], ['feature_view.name'], name=op.f('fk_feature_snapshot_view_feature_view'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('view', 'snapshot', name=op.f('pk_feature_snapshot')),
    sa.UniqueConstraint('batch_id', name=op.f('uq_feature_snapshot_batch_id'))
    )
    op.create_index('ix_feature_snapshot_view_accepted', 'feature_snapshot', ['view', 'accepted_at'])

    with op.batch_alter_table('batch', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pending_status', sa.String(length=16), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('batch', schema=None) as batch_op:
        batch_op.drop_column('pending_status')

    op.drop_index('ix_feature_snapshot_view_accepted', table_name='feature_snapshot')
    op.drop_table('feature_snapshot')
    op.drop_index('ix_training_set_view_created', table_name='training_set')
    op.drop_table('training_set')
    op.drop_table('online_row')
    op.drop_table('feature_view')
