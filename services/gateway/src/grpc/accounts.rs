//! accounts RPCs.

use switchboard_proto::gateway::v1 as pb;
use tonic::Status;

use super::{Ctx, Scope};

pub async fn create_channel_account(
    _ctx: &Ctx,
    _scope: &Scope,
    _request: pb::CreateChannelAccountRequest,
) -> Result<pb::CreateChannelAccountResponse, Status> {
    Err(Status::unimplemented("CreateChannelAccount"))
}

pub async fn get_channel_account(
    _ctx: &Ctx,
    _scope: &Scope,
    _request: pb::GetChannelAccountRequest,
) -> Result<pb::GetChannelAccountResponse, Status> {
    Err(Status::unimplemented("GetChannelAccount"))
}

pub async fn list_channel_accounts(
    _ctx: &Ctx,
    _scope: &Scope,
    _request: pb::ListChannelAccountsRequest,
) -> Result<pb::ListChannelAccountsResponse, Status> {
    Err(Status::unimplemented("ListChannelAccounts"))
}

pub async fn update_channel_account(
    _ctx: &Ctx,
    _scope: &Scope,
    _request: pb::UpdateChannelAccountRequest,
) -> Result<pb::UpdateChannelAccountResponse, Status> {
    Err(Status::unimplemented("UpdateChannelAccount"))
}

pub async fn delete_channel_account(
    _ctx: &Ctx,
    _scope: &Scope,
    _request: pb::DeleteChannelAccountRequest,
) -> Result<pb::DeleteChannelAccountResponse, Status> {
    Err(Status::unimplemented("DeleteChannelAccount"))
}

pub async fn get_channel_account_routing(
    _ctx: &Ctx,
    _scope: &Scope,
    _request: pb::GetChannelAccountRoutingRequest,
) -> Result<pb::GetChannelAccountRoutingResponse, Status> {
    Err(Status::unimplemented("GetChannelAccountRouting"))
}

pub async fn update_channel_account_routing(
    _ctx: &Ctx,
    _scope: &Scope,
    _request: pb::UpdateChannelAccountRoutingRequest,
) -> Result<pb::UpdateChannelAccountRoutingResponse, Status> {
    Err(Status::unimplemented("UpdateChannelAccountRouting"))
}

pub async fn create_campaign(
    _ctx: &Ctx,
    _scope: &Scope,
    _request: pb::CreateCampaignRequest,
) -> Result<pb::CreateCampaignResponse, Status> {
    Err(Status::unimplemented("CreateCampaign"))
}

pub async fn get_campaign(
    _ctx: &Ctx,
    _scope: &Scope,
    _request: pb::GetCampaignRequest,
) -> Result<pb::GetCampaignResponse, Status> {
    Err(Status::unimplemented("GetCampaign"))
}

pub async fn list_campaigns(
    _ctx: &Ctx,
    _scope: &Scope,
    _request: pb::ListCampaignsRequest,
) -> Result<pb::ListCampaignsResponse, Status> {
    Err(Status::unimplemented("ListCampaigns"))
}

pub async fn update_campaign(
    _ctx: &Ctx,
    _scope: &Scope,
    _request: pb::UpdateCampaignRequest,
) -> Result<pb::UpdateCampaignResponse, Status> {
    Err(Status::unimplemented("UpdateCampaign"))
}

pub async fn delete_campaign(
    _ctx: &Ctx,
    _scope: &Scope,
    _request: pb::DeleteCampaignRequest,
) -> Result<pb::DeleteCampaignResponse, Status> {
    Err(Status::unimplemented("DeleteCampaign"))
}

pub async fn send_campaign(
    _ctx: &Ctx,
    _scope: &Scope,
    _request: pb::SendCampaignRequest,
) -> Result<pb::SendCampaignResponse, Status> {
    Err(Status::unimplemented("SendCampaign"))
}

pub async fn list_campaign_messages(
    _ctx: &Ctx,
    _scope: &Scope,
    _request: pb::ListCampaignMessagesRequest,
) -> Result<pb::ListCampaignMessagesResponse, Status> {
    Err(Status::unimplemented("ListCampaignMessages"))
}

pub async fn get_transfer_report(
    _ctx: &Ctx,
    _scope: &Scope,
    _request: pb::GetTransferReportRequest,
) -> Result<pb::GetTransferReportResponse, Status> {
    Err(Status::unimplemented("GetTransferReport"))
}

pub async fn get_close_policy(
    _ctx: &Ctx,
    _scope: &Scope,
    _request: pb::GetClosePolicyRequest,
) -> Result<pb::GetClosePolicyResponse, Status> {
    Err(Status::unimplemented("GetClosePolicy"))
}

pub async fn update_close_policy(
    _ctx: &Ctx,
    _scope: &Scope,
    _request: pb::UpdateClosePolicyRequest,
) -> Result<pb::UpdateClosePolicyResponse, Status> {
    Err(Status::unimplemented("UpdateClosePolicy"))
}
