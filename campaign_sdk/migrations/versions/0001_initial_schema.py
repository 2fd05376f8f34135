"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('campaigns',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('campaign_type', sa.Enum('marketing', 'service', name='campaign_type', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('status', sa.Enum('unsubmitted', 'pending', 'approved', 'rejected', name='campaign_status', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('approval_state', sa.Enum('unsubmitted', 'received', 'pending', 'approved', 'rejected', 'paused', 'disabled', name='approval_state', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('rejection_reason', sa.Text(), nullable=True),
    sa.Column('enabled', sa.DateTime(timezone=True), nullable=True),
    sa.Column('content_type', sa.String(length=40), nullable=False),
    sa.Column('content', sa.JSON(), nullable=False),
    sa.Column('template_key', sa.String(length=80), nullable=True),
    sa.Column('content_sid', sa.String(length=34), nullable=True),
    sa.Column('approval_name', sa.String(length=512), nullable=True),
    sa.Column('approval_category', sa.String(length=20), nullable=True),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaigns')),
    sa.UniqueConstraint('content_sid', name=op.f('uq_campaigns_content_sid')),
    sa.UniqueConstraint('name', name=op.f('uq_campaigns_name'))
    )
    op.create_table('conversation_users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('phone_number', sa.String(length=16), nullable=False),
    sa.Column('opted_out_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('opt_out_keyword', sa.String(length=20), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_conversation_users')),
    sa.UniqueConstraint('phone_number', name=op.f('uq_conversation_users_phone_number'))
    )
    op.create_table('campaign_leads',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('custom_variables', sa.JSON(), nullable=False),
    sa.Column('removed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_campaign_leads_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['conversation_users.id'], name=op.f('fk_campaign_leads_user_id_conversation_users'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_leads')),
    sa.UniqueConstraint('campaign_id', 'user_id', name='uq_campaign_leads_campaign_user')
    )
    with op.batch_alter_table('campaign_leads', schema=None) as batch_op:
        batch_op.create_index('ix_campaign_leads_user', ['user_id'], unique=False)

    op.create_table('conversions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('external_id', sa.String(length=200), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('value', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['conversation_users.id'], name=op.f('fk_conversions_user_id_conversation_users'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_conversions')),
    sa.UniqueConstraint('external_id', name=op.f('uq_conversions_external_id'))
    )
    with op.batch_alter_table('conversions', schema=None) as batch_op:
        batch_op.create_index('ix_conversions_user_occurred', ['user_id', 'occurred_at'], unique=False)

    op.create_table('inbound_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sid', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('button_payload', sa.String(length=200), nullable=True),
    sa.Column('kind', sa.Enum('reply', 'opt_out', 'opt_in', 'help', name='inbound_kind', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['conversation_users.id'], name=op.f('fk_inbound_messages_user_id_conversation_users'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbound_messages')),
    sa.UniqueConstraint('sid', name=op.f('uq_inbound_messages_sid'))
    )
    with op.batch_alter_table('inbound_messages', schema=None) as batch_op:
        batch_op.create_index('ix_inbound_user_received', ['user_id', 'received_at'], unique=False)

    op.create_table('outbound_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sid', sa.String(length=34), nullable=True),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('lead_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('to_number', sa.String(length=40), nullable=False),
    sa.Column('status', sa.Enum('queued', 'accepted', 'scheduled', 'sending', 'sent', 'failed', 'undelivered', 'delivered', 'read', 'canceled', name='message_status', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('error_code', sa.Integer(), nullable=True),
    sa.Column('content_variables', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('failed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_outbound_messages_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['lead_id'], ['campaign_leads.id'], name=op.f('fk_outbound_messages_lead_id_campaign_leads'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['conversation_users.id'], name=op.f('fk_outbound_messages_user_id_conversation_users'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbound_messages')),
    sa.UniqueConstraint('sid', name=op.f('uq_outbound_messages_sid'))
    )
    with op.batch_alter_table('outbound_messages', schema=None) as batch_op:
        batch_op.create_index('ix_outbound_campaign_lead', ['campaign_id', 'lead_id'], unique=False)
        batch_op.create_index('ix_outbound_user_created', ['user_id', 'created_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('outbound_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_outbound_user_created')
        batch_op.drop_index('ix_outbound_campaign_lead')

    op.drop_table('outbound_messages')
    with op.batch_alter_table('inbound_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_inbound_user_received')

    op.drop_table('inbound_messages')
    with op.batch_alter_table('conversions', schema=None) as batch_op:
        batch_op.drop_index('ix_conversions_user_occurred')

    op.drop_table('conversions')
    with op.batch_alter_table('campaign_leads', schema=None) as batch_op:
        batch_op.drop_index('ix_campaign_leads_user')

    op.drop_table('campaign_leads')
    op.drop_table('conversation_users')
    op.drop_table('campaigns')
