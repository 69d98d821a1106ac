//! Black-box test of the directory routes: the real `tessera` binary (redb, then sled) on a
//! free loopback port. Every directory route is called by an outsider (404, as for an
//! unknown directory), without a token (401), and by a member, an admin and the owner,
//! each getting what the role table gives it (403 where it denies); then the workflow:
//! invitations (the same answer for a name without a user), directory-created users and
//! NEW_PASSWORD_REQUIRED, set-profile-password revoking tokens, the paged listing, a device
//! provisioned for a member, and everything still there after a restart.
#![allow(clippy::too_many_lines)] // scenarios, top to bottom

use tessera_testkit::binary as bin_support;

use std::path::Path;
use std::process::Stdio;

use bin_support::{Reply, Served};
use serde_json::{Value, json};
use tessera_core::engine::directories::permissions::{self, DirectoryOperation as Op};
use tessera_core::store::DirectoryRole;
use tessera_core::{KeyPair, OsRandom};
use uuid::Uuid;

/// Test-only configuration: cheap argon2 (never in production).
const TEST_CONFIG: &str = "allow_weak_hash_params = true\n\
    [argon2]\nmemory_kib = 64\niterations = 1\n\
    [hash_pool]\nworkers = 2\n\
    [http]\nshutdown_grace_secs = 5\n";

async fn start_server(dir: &Path, backend: &str) -> Served {
    let config = dir.join("tessera.toml");
    std::fs::write(&config, TEST_CONFIG).unwrap();
    let log = dir.join("server.log");
    let log_file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
        .unwrap();
    let mut cmd = bin_support::serve(&config);
    cmd.args(["--backend", backend])
        .arg("--data-dir")
        .arg(dir.join("data"))
        .stderr(Stdio::from(log_file));
    Served::start(cmd, Some(&log)).await
}

fn password(tag: &str) -> String {
    format!("velvet otter quasar lantern {tag} 7291")
}

/// An active user: its name, token and profile id.
#[derive(Debug, Clone)]
struct User {
    name: String,
    token: String,
    id: String,
}

struct Client(bin_support::Client);

impl std::ops::Deref for Client {
    type Target = bin_support::Client;
    fn deref(&self) -> &bin_support::Client {
        &self.0
    }
}

impl Client {
    /// A command: 202 with `X-DPT-CAB-ID`; its `/request-status` result.
    async fn command(&self, path: &str, token: &str, fields: &[(&str, &str)]) -> Value {
        let r = self.post(path, Some(token), fields).await;
        assert_eq!(r.status, 202, "{path}: {}", r.body);
        let id = r.cab_id.expect("X-DPT-CAB-ID");
        let s = self.get(&format!("/request-status/{id}"), None).await;
        assert_eq!(s.body["data"]["command_status"], 2, "{}", s.body);
        s.body["data"].get("result").cloned().unwrap_or(Value::Null)
    }

    async fn active_user(&self, name: &str) -> User {
        let pw = password(name);
        let r = self
            .post(
                "/profile/register-profile",
                None,
                &[("username", name), ("password", &pw)],
            )
            .await;
        assert_eq!(r.status, 202, "{}", r.body);
        let r = self
            .post(
                "/profile/authenticate",
                None,
                &[("username", name), ("password", &pw)],
            )
            .await;
        let token = r.body["authorizationToken"].as_str().unwrap().to_owned();
        let me = self.get("/profile/retrieve-profile-id", Some(&token)).await;
        let id = me.body["profileId"].as_str().unwrap().to_owned();
        let keys = KeyPair::generate(&OsRandom);
        self.command(
            "/public-key/register-public-key",
            &token,
            &[
                ("publicKey", &keys.public().to_privicore_hex()),
                ("signature", &keys.prove(Uuid::parse_str(&id).unwrap())),
            ],
        )
        .await;
        User {
            name: name.to_owned(),
            token,
            id,
        }
    }

    async fn directory(&self, owner: &User, short: &str) -> String {
        let result = self
            .command(
                "/directory/register-directory",
                &owner.token,
                &[("directoryName", "Acme"), ("directoryShortName", short)],
            )
            .await;
        result["directoryId"].as_str().unwrap().to_owned()
    }

    async fn join(&self, by: &User, dir: &str, who: &User, role: &str) {
        let r = self
            .command(
                "/directory/invite-profile",
                &by.token,
                &[
                    ("directoryId", dir),
                    ("username", &who.name),
                    ("role", role),
                ],
            )
            .await;
        let inv = r["invitationId"].as_str().unwrap();
        self.command(
            "/directory/process-invitation",
            &who.token,
            &[("invitationId", inv), ("decision", "accept")],
        )
        .await;
    }

    async fn create_user(&self, by: &User, dir: &str, name: &str) -> String {
        let temp = password(&format!("{name}-temp"));
        let r = self
            .command(
                "/directory/create-directory-user",
                &by.token,
                &[
                    ("directoryId", dir),
                    ("username", name),
                    ("givenName", "Made"),
                    ("familyName", "Here"),
                    ("temporaryPassword", &temp),
                ],
            )
            .await;
        r["profileId"].as_str().unwrap().to_owned()
    }
}

/// Who an operation acts on: the caller's own profile, a member to act on, a user the
/// directory created.
struct Targets<'a> {
    me: &'a str,
    target: &'a str,
    created: &'a str,
}

/// Call the route of `op` on `dir` with `token`.
async fn call(
    c: &Client,
    op: Op,
    token: Option<&str>,
    dir: &str,
    t: &Targets<'_>,
    n: usize,
) -> Reply {
    let temp = password("table");
    let made = format!("made{n}");
    match op {
        Op::RetrieveDirectory => {
            c.get(&format!("/directory/retrieve-directory/{dir}"), token)
                .await
        }
        Op::StoreMeta => {
            c.post(
                "/directory/store-directory-meta",
                token,
                &[("directoryId", dir), ("meta", "{\"a\":1}")],
            )
            .await
        }
        Op::RemoveDirectory => {
            c.post(
                "/directory/remove-directory",
                token,
                &[("directoryId", dir)],
            )
            .await
        }
        Op::CreateUser => {
            c.post(
                "/directory/create-directory-user",
                token,
                &[
                    ("directoryId", dir),
                    ("username", &made),
                    ("givenName", "Made"),
                    ("familyName", "Here"),
                    ("temporaryPassword", &temp),
                ],
            )
            .await
        }
        Op::UpdateOwnInformation => {
            c.post(
                "/directory/update-user-information",
                token,
                &[
                    ("directoryId", dir),
                    ("profileId", t.me),
                    ("givenName", "Me"),
                ],
            )
            .await
        }
        Op::UpdateMemberInformation => {
            c.post(
                "/directory/update-user-information",
                token,
                &[
                    ("directoryId", dir),
                    ("profileId", t.target),
                    ("familyName", "Them"),
                ],
            )
            .await
        }
        Op::SetProfilePassword => {
            c.post(
                "/directory/set-profile-password",
                token,
                &[
                    ("directoryId", dir),
                    ("profileId", t.created),
                    ("temporaryPassword", &temp),
                ],
            )
            .await
        }
        Op::RetrieveProfile => {
            c.get(
                &format!(
                    "/directory/retrieve-directory-profile?directoryId={dir}&profileId={}",
                    t.target
                ),
                token,
            )
            .await
        }
        Op::ListUsers => {
            c.get(
                &format!("/directory/list-directory-users?directoryId={dir}"),
                token,
            )
            .await
        }
        Op::ProfilesInfo => {
            c.post(
                "/directory/directory-profiles-info",
                token,
                &[
                    ("directoryId", dir),
                    ("profileId", t.target),
                    ("profileId", t.me),
                ],
            )
            .await
        }
        Op::Invite => {
            c.post(
                "/directory/invite-profile",
                token,
                &[("directoryId", dir), ("username", &made)],
            )
            .await
        }
        Op::ListInvitations => {
            c.get(
                &format!("/directory/list-directory-invites?directoryId={dir}"),
                token,
            )
            .await
        }
        Op::ChangeRole => {
            c.post(
                "/directory/change-role",
                token,
                &[
                    ("directoryId", dir),
                    ("profileId", t.target),
                    ("role", "member"),
                ],
            )
            .await
        }
        Op::RemoveMember => {
            c.post(
                "/directory/remove-member",
                token,
                &[("directoryId", dir), ("profileId", t.target)],
            )
            .await
        }
        Op::Leave => {
            c.post(
                "/directory/remove-member",
                token,
                &[("directoryId", dir), ("profileId", t.me)],
            )
            .await
        }
        Op::CreateProfileDevice => {
            c.post(
                "/directory/create-profile-device",
                token,
                &[("directoryId", dir), ("profileId", t.target)],
            )
            .await
        }
        Op::ListDevices => {
            c.get(
                &format!("/directory/list-directory-devices?directoryId={dir}"),
                token,
            )
            .await
        }
    }
}

/// The operations in an order that keeps what later ones need: removals last, and of
/// leaving and removing the directory, the one that succeeds for `role` last.
fn in_safe_order(role: Option<DirectoryRole>) -> Vec<Op> {
    let last = if role == Some(DirectoryRole::Owner) {
        [Op::RemoveMember, Op::Leave, Op::RemoveDirectory]
    } else {
        [Op::RemoveMember, Op::RemoveDirectory, Op::Leave]
    };
    let mut ops: Vec<Op> = Op::ALL
        .iter()
        .copied()
        .filter(|o| !last.contains(o))
        .collect();
    ops.extend(last);
    ops
}

async fn role_table_and_404(c: &Client) {
    let owner = c.active_user("tbl-owner").await;
    let admin = c.active_user("tbl-admin").await;
    let member = c.active_user("tbl-member").await;
    let outsider = c.active_user("tbl-outsider").await;
    let mut n = 0;
    for (role, actor) in [
        (None, &outsider),
        (Some(DirectoryRole::Member), &member),
        (Some(DirectoryRole::Admin), &admin),
        (Some(DirectoryRole::Owner), &owner),
    ] {
        // a fresh directory, with a fresh member to act on, for each caller
        n += 1;
        let dir = c.directory(&owner, &format!("tbl-{n}")).await;
        c.join(&owner, &dir, &admin, "admin").await;
        c.join(&owner, &dir, &member, "member").await;
        let target = c.active_user(&format!("tbl-target-{n}")).await;
        c.join(&owner, &dir, &target, "member").await;
        let created = c.create_user(&owner, &dir, &format!("tbl-made-{n}")).await;
        let t = Targets {
            me: &actor.id,
            target: &target.id,
            created: &created,
        };
        for op in in_safe_order(role) {
            n += 1;
            let unknown = Uuid::new_v4().to_string();
            let r = call(c, op, Some(&actor.token), &dir, &t, n).await;
            match role {
                None => {
                    r.expect(404, "not_found");
                    // the same answer as for a directory that does not exist
                    let u = call(c, op, Some(&actor.token), &unknown, &t, n).await;
                    u.expect(404, "not_found");
                    assert_eq!(u.body, r.body, "{op:?}");
                    // and no token is a 401
                    call(c, op, None, &dir, &t, n)
                        .await
                        .expect(401, "unauthorized");
                }
                Some(role) if !permissions::allowed(role, op) => {
                    r.expect(403, "forbidden");
                }
                Some(DirectoryRole::Owner) if op == Op::Leave => {
                    r.expect(422, "validation_failed");
                    assert!(r.body["errors"]["profileId"].is_array(), "{}", r.body);
                }
                Some(role) => assert!(
                    r.status == 200 || r.status == 202,
                    "{role:?} {op:?}: {} {}",
                    r.status,
                    r.body
                ),
            }
        }
    }
}

async fn workflow(c: &Client) -> (String, User) {
    let olga = c.active_user("olga").await;
    let ann = c.active_user("ann").await;
    let bob = c.active_user("bob").await;
    let dir = c.directory(&olga, "ACME").await;
    let d = c
        .get(
            &format!("/directory/retrieve-directory/{dir}"),
            Some(&olga.token),
        )
        .await;
    assert_eq!(d.body["directoryShortName"], "acme");
    assert_eq!(d.body["role"], "owner");
    // the short name is unique, in any spelling that folds to it
    let r = c
        .post(
            "/directory/register-directory",
            Some(&ann.token),
            &[
                ("directoryName", "Other"),
                ("directoryShortName", "ＡＣＭＥ"),
            ],
        )
        .await;
    r.expect(422, "validation_failed");
    assert!(r.body["errors"]["directoryShortName"].is_array());
    // invitations: the same answer whether or not the name has a user
    let real = c
        .command(
            "/directory/invite-profile",
            &olga.token,
            &[
                ("directoryId", &dir),
                ("username", "ann"),
                ("role", "admin"),
            ],
        )
        .await;
    let ghost = c
        .command(
            "/directory/invite-profile",
            &olga.token,
            &[("directoryId", &dir), ("username", "nobody")],
        )
        .await;
    assert!(real["invitationId"].is_string() && ghost["invitationId"].is_string());
    let mine = c
        .get("/directory/list-directory-invites", Some(&ann.token))
        .await;
    assert_eq!(mine.body.as_array().unwrap().len(), 1, "{}", mine.body);
    assert_eq!(mine.body[0]["directoryShortName"], "acme");
    let pending = c
        .get(
            &format!("/directory/list-directory-invites?directoryId={dir}"),
            Some(&olga.token),
        )
        .await;
    assert_eq!(pending.body.as_array().unwrap().len(), 2);
    let inv = real["invitationId"].as_str().unwrap();
    c.post(
        "/directory/process-invitation",
        Some(&bob.token),
        &[("invitationId", inv), ("decision", "accept")],
    )
    .await
    .expect(404, "not_found");
    c.post(
        "/directory/process-invitation",
        Some(&ann.token),
        &[("invitationId", inv), ("decision", "maybe")],
    )
    .await
    .expect(422, "validation_failed");
    c.command(
        "/directory/process-invitation",
        &ann.token,
        &[("invitationId", inv), ("decision", "accept")],
    )
    .await;
    c.post(
        "/directory/process-invitation",
        Some(&ann.token),
        &[("invitationId", inv), ("decision", "accept")],
    )
    .await
    .expect(404, "not_found");
    let assigned = c
        .get("/directory/retrieve-assigned-directories", Some(&ann.token))
        .await;
    assert_eq!(assigned.body[0]["role"], "admin");
    c.join(&ann, &dir, &bob, "member").await;
    // a user the directory creates: NEW_PASSWORD_REQUIRED at its first login
    let temp = password("carol-temp");
    let carol = c
        .command(
            "/directory/create-directory-user",
            &ann.token,
            &[
                ("directoryId", &dir),
                ("username", "carol"),
                ("givenName", "Carol"),
                ("familyName", "Jones"),
                ("temporaryPassword", &temp),
            ],
        )
        .await["profileId"]
        .as_str()
        .unwrap()
        .to_owned();
    let login = c
        .http
        .post(format!("{}/v1/login", c.base))
        .json(&json!({"username": "carol", "password": temp}))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(login["challenge_name"], "NEW_PASSWORD_REQUIRED", "{login}");
    let set = c
        .http
        .post(format!("{}/v1/new-password-required", c.base))
        .json(&json!({"username": "carol", "session": login["session"], "new_password": password("carol")}))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let carol_token = set["access_token"].as_str().expect("tokens").to_owned();
    let live = c
        .post("/profile/retrieve-token-expiry", Some(&carol_token), &[])
        .await;
    assert_eq!(live.status, 200, "{}", live.body);
    // set-profile-password: only for users the directory created; their tokens end with it
    c.post(
        "/directory/set-profile-password",
        Some(&ann.token),
        &[
            ("directoryId", &dir),
            ("profileId", &bob.id),
            ("temporaryPassword", &temp),
        ],
    )
    .await
    .expect(403, "forbidden");
    c.command(
        "/directory/set-profile-password",
        &ann.token,
        &[
            ("directoryId", &dir),
            ("profileId", &carol),
            ("temporaryPassword", &temp),
        ],
    )
    .await;
    c.post("/profile/retrieve-token-expiry", Some(&carol_token), &[])
        .await
        .expect(401, "unauthorized");
    // the listing, two at a time with the cursor
    let mut cursor: Option<String> = None;
    let mut seen = Vec::new();
    loop {
        let q = cursor
            .as_ref()
            .map_or_else(String::new, |c| format!("&cursor={c}"));
        let page = c
            .get(
                &format!("/directory/list-directory-users?directoryId={dir}&limit=2{q}"),
                Some(&bob.token),
            )
            .await;
        assert_eq!(page.status, 200, "{}", page.body);
        for u in page.body["users"].as_array().unwrap() {
            seen.push(u["username"].as_str().unwrap().to_owned());
        }
        match page.body["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, ["olga", "ann", "bob", "carol"]);
    c.get(
        &format!("/directory/list-directory-users?directoryId={dir}&cursor=forged"),
        Some(&bob.token),
    )
    .await
    .expect(422, "validation_failed");
    // roles: the owner is never demoted; an admin is made a member
    c.post(
        "/directory/change-role",
        Some(&ann.token),
        &[
            ("directoryId", &dir),
            ("profileId", &olga.id),
            ("role", "member"),
        ],
    )
    .await
    .expect(422, "validation_failed");
    c.command(
        "/directory/change-role",
        &olga.token,
        &[
            ("directoryId", &dir),
            ("profileId", &bob.id),
            ("role", "admin"),
        ],
    )
    .await;
    // a device for a member: the QR token is bob's, and so is the device
    let qr = c
        .post(
            "/directory/create-profile-device",
            Some(&olga.token),
            &[
                ("directoryId", &dir),
                ("profileId", &bob.id),
                ("deviceName", "Bob's phone"),
            ],
        )
        .await;
    assert_eq!(qr.status, 200, "{}", qr.body);
    let dev_pw = password("bob-phone");
    c.command(
        "/device/request-unique-identifier",
        &olga.token,
        &[
            ("qrToken", qr.body["qrToken"].as_str().unwrap()),
            ("username", "bob-phone"),
            ("password", &dev_pw),
        ],
    )
    .await;
    let bobs = c
        .get("/device/retrieve-profile-devices", Some(&bob.token))
        .await;
    assert_eq!(bobs.body[0]["deviceName"], "Bob's phone", "{}", bobs.body);
    let devices = c
        .get(
            &format!("/directory/list-directory-devices?directoryId={dir}"),
            Some(&ann.token),
        )
        .await;
    assert_eq!(
        devices.body["devices"][0]["profileId"],
        bob.id.as_str(),
        "{}",
        devices.body
    );
    // meta, and a removal that leaves the profile alone
    c.command(
        "/directory/store-directory-meta",
        &ann.token,
        &[("directoryId", &dir), ("meta", "{\"plan\":\"pro\"}")],
    )
    .await;
    c.command(
        "/directory/remove-member",
        &olga.token,
        &[("directoryId", &dir), ("profileId", &ann.id)],
    )
    .await;
    let me = c
        .get("/profile/retrieve-profile-id", Some(&ann.token))
        .await;
    assert_eq!(me.body["state"], "active");
    c.get(
        &format!("/directory/retrieve-directory/{dir}"),
        Some(&ann.token),
    )
    .await
    .expect(404, "not_found");
    (dir, olga)
}

async fn scenario(backend: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let server = start_server(tmp.path(), backend).await;
    let c = Client(bin_support::Client::new(&server));
    role_table_and_404(&c).await;
    let (dir, olga) = workflow(&c).await;
    server.stop().await;
    // everything survives a restart
    let server = start_server(tmp.path(), backend).await;
    let c = Client(bin_support::Client::new(&server));
    let d = c
        .get(
            &format!("/directory/retrieve-directory/{dir}"),
            Some(&olga.token),
        )
        .await;
    assert_eq!(d.status, 200, "{}", d.body);
    assert_eq!(d.body["meta"], json!({"plan": "pro"}));
    let users = c
        .get(
            &format!("/directory/list-directory-users?directoryId={dir}"),
            Some(&olga.token),
        )
        .await;
    assert_eq!(
        users.body["users"].as_array().unwrap().len(),
        3,
        "{}",
        users.body
    );
    c.command(
        "/directory/remove-directory",
        &olga.token,
        &[("directoryId", &dir)],
    )
    .await;
    let owned = c
        .get("/directory/retrieve-owned-directories", Some(&olga.token))
        .await;
    assert!(
        owned
            .body
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["directoryId"] != dir.as_str()),
        "{}",
        owned.body
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn directories_on_the_real_binary_with_redb() {
    scenario("redb").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn directories_on_the_real_binary_with_sled() {
    scenario("sled").await;
}
