//! 200 joined channels at once, each receiving its own profile's pushes and no other's.

use tessera_testkit::ws as ws_support;

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::join_all;
use futures_util::{StreamExt as _, stream};
use tessera_http::HttpConfig;
use ws_support::{Server, joined, next_json, silent_for, verified_data};

const SOCKETS: usize = 200;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_channels_each_get_only_their_own_commands() {
    let s = Arc::new(Server::start(HttpConfig::default()).await);
    // at most 16 at a time: the test engine's hash queue holds 64 jobs
    let users: Vec<_> = stream::iter(0..SOCKETS)
        .map(|i| {
            let s = Arc::clone(&s);
            async move { s.active_user(&format!("user{i:03}")).await }
        })
        .buffered(16)
        .collect()
        .await;
    let mut sockets = join_all(users.iter().map(|u| joined(&s.ws_url, &u.token))).await;
    let key = s.cab_key().await;
    // two commands per profile, made over HTTP, all in flight together
    let commands = join_all(users.iter().map(|u| {
        let s = Arc::clone(&s);
        async move {
            let first = s.reauthorize(&u.token).await;
            let second = s.reauthorize(&u.token).await;
            [first, second]
        }
    }))
    .await;
    let checks = sockets.iter_mut().zip(&commands).map(|(ws, expected)| {
        let key = &key;
        async move {
            let mut got = Vec::new();
            for _ in 0..2 {
                let push = next_json(ws).await;
                let data = verified_data(&push, key);
                got.push(data["id"].as_str().unwrap().to_owned());
            }
            assert_eq!(&got, expected, "pushes in order, own commands only");
            silent_for(ws, Duration::from_millis(500))
                .await
                .expect("no other profile's push");
        }
    });
    join_all(checks).await;
    assert_eq!(users.len(), SOCKETS);
}
