//! Tenancy you cannot forget (svix's `secure_find` idea): a tenant table declares its
//! organization column once ([`tenant!`]), and queries start from [`of_org`] (every row of one
//! organization) or [`secure_find`] (one row by key, only in that organization), so another
//! organization's id reads as absent — NOT_FOUND — never as someone else's row. Queries across
//! organizations (the sweepers') are written apart, in a module of their own.

use sea_orm::{ColumnTrait, EntityTrait, PrimaryKeyTrait, QueryFilter, Select};

use crate::ids::OrganizationId;

/// An entity whose rows belong to one organization.
pub trait Tenant: EntityTrait {
    /// The column naming the organization of a row.
    fn organization_column() -> Self::Column;
}

/// Every row of `org`: where a tenant query starts.
pub fn of_org<E: Tenant>(org: &OrganizationId) -> Select<E> {
    E::find().filter(E::organization_column().eq(org.as_str()))
}

/// The row with primary key `key`, if it belongs to `org`.
pub fn secure_find<E, K>(org: &OrganizationId, key: K) -> Select<E>
where
    E: Tenant,
    K: Into<<E::PrimaryKey as PrimaryKeyTrait>::ValueType>,
{
    E::find_by_id(key).filter(E::organization_column().eq(org.as_str()))
}

/// Declares the entities of the named modules (in scope) tenant tables, by their
/// `OrganizationId` column: `tenant!(agents, teams)`.
#[macro_export]
macro_rules! tenant {
    ($($module:ident),+ $(,)?) => {$(
        impl $crate::tenancy::Tenant for $module::Entity {
            fn organization_column() -> Self::Column {
                $module::Column::OrganizationId
            }
        }
    )+};
}
