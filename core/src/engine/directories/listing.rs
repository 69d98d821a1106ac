//! Reading members: one, several, or the whole listing page by page (see `cursor.rs`).

use uuid::Uuid;

use super::super::Engine;
use super::cursor::Cursor;
use super::permissions::DirectoryOperation as Op;
use super::{DirectoryProfile, MemberPage, rules};
use crate::error::{Error, Result};
use crate::principal::Principal;
use crate::store::DirectoryMember;

impl Engine {
    /// One member's directory profile (members only).
    /// Errors: `NotFound` (the caller or `profile` is not a member).
    pub async fn directory_profile(
        &self,
        principal: &Principal,
        directory: Uuid,
        profile: Uuid,
    ) -> Result<DirectoryProfile> {
        self.acting_member(principal, directory, Op::RetrieveProfile)
            .await?;
        self.store
            .get_member(directory, profile)
            .await?
            .map(DirectoryProfile::from)
            .ok_or(Error::NotFound)
    }

    /// The directory profiles of the members among `profiles` (members only; at most 100
    /// ids, duplicates answered once, non-members left out), in the order asked.
    /// Errors: `validation_failed` on `profileId` (none, or more than 100), `NotFound`.
    pub async fn directory_profiles(
        &self,
        principal: &Principal,
        directory: Uuid,
        profiles: &[Uuid],
    ) -> Result<Vec<DirectoryProfile>> {
        self.acting_member(principal, directory, Op::ProfilesInfo)
            .await?;
        if profiles.is_empty() || profiles.len() > rules::MAX_PROFILES_PER_CALL {
            return Err(Error::validation(
                "profileId",
                "profileId must be given 1-100 times",
            ));
        }
        let mut distinct: Vec<Uuid> = Vec::with_capacity(profiles.len());
        for p in profiles {
            if !distinct.contains(p) {
                distinct.push(*p);
            }
        }
        Ok(self
            .store
            .get_members(directory, &distinct)
            .await?
            .into_iter()
            .map(DirectoryProfile::from)
            .collect())
    }

    /// One page of the directory's members (members only): `limit` 1–500 (default 100),
    /// from the start or after `cursor` (a `next_cursor` this listing returned, for this
    /// directory). A walk lists the members who joined before its first page, each once, in join
    /// order.
    /// Errors: `validation_failed` on `limit` or `cursor` (forged, edited, or of another
    /// directory), `NotFound`.
    pub async fn list_directory_members(
        &self,
        principal: &Principal,
        directory: Uuid,
        limit: Option<usize>,
        cursor: Option<&str>,
    ) -> Result<MemberPage> {
        self.acting_member(principal, directory, Op::ListUsers)
            .await?;
        let (members, next_cursor) = self.member_page(directory, limit, cursor).await?;
        Ok(MemberPage {
            members: members.into_iter().map(DirectoryProfile::from).collect(),
            next_cursor,
        })
    }

    /// A page of the member walk and the cursor of the next one (the caller checked the
    /// permission).
    pub(super) async fn member_page(
        &self,
        directory: Uuid,
        limit: Option<usize>,
        cursor: Option<&str>,
    ) -> Result<(Vec<DirectoryMember>, Option<String>)> {
        let limit = rules::page_size(limit)?;
        let key = self.server_key().await?.seed();
        let cursor = match cursor {
            Some(text) => Cursor::decode(text, &key, directory)?,
            None => Cursor {
                bound: self
                    .store
                    .get_directory(directory)
                    .await?
                    .ok_or(Error::NotFound)?
                    .last_member_seq,
                after: 0,
            },
        };
        let mut rows = self
            .store
            .list_members(directory, cursor.after, limit + 1)
            .await?;
        // In join order, so everyone after the first late joiner joined late too.
        if let Some(late) = rows.iter().position(|m| m.membership.seq > cursor.bound) {
            rows.truncate(late);
        }
        let next = if rows.len() > limit {
            rows.truncate(limit);
            rows.last()
                .map(|m| {
                    Cursor {
                        bound: cursor.bound,
                        after: m.membership.seq,
                    }
                    .encode(&key, directory)
                })
                .transpose()?
        } else {
            None
        };
        Ok((rows, next))
    }
}
