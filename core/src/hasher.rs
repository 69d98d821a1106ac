//! Argon2id password hashing on a fixed pool of worker threads with a bounded queue.
//!
//! Argon2id with m = 19456 KiB, t = 2, p = 1 (OWASP) by default, PHC strings, an optional
//! pepper (argon2's secret input, never stored). Each hash needs ~19 MiB, which every pool
//! worker allocates once and keeps, so hashing holds pool size × 19 MiB and the number of
//! concurrent hashes is the pool size, never more; requests past the queue fail at once
//! with [`Error::Overloaded`].

use std::cell::RefCell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, PoisonError};

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use subtle::ConstantTimeEq as _;
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::password::Password;

/// Argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashParams {
    /// Memory in KiB.
    pub m_kib: u32,
    /// Iterations.
    pub t: u32,
    /// Lanes.
    pub p: u32,
}

impl HashParams {
    /// OWASP's recommended row: m = 19456 KiB, t = 2, p = 1.
    pub const OWASP: Self = Self {
        m_kib: 19_456,
        t: 2,
        p: 1,
    };

    /// Cheap parameters for tests only (the engine builder refuses them unless told).
    pub const INSECURE_FOR_TESTS: Self = Self {
        m_kib: 64,
        t: 1,
        p: 1,
    };

    /// Whether these are at least as costly as the OWASP row.
    #[must_use]
    pub const fn meets_owasp(&self) -> bool {
        self.m_kib >= Self::OWASP.m_kib && self.t >= Self::OWASP.t && self.p >= 1
    }

    fn to_argon2(self) -> Result<Params> {
        Params::new(self.m_kib, self.t, self.p, None)
            .map_err(|e| Error::Config(format!("argon2 parameters: {e}")))
    }
}

impl Default for HashParams {
    fn default() -> Self {
        Self::OWASP
    }
}

/// Argon2id hashing and verification with fixed parameters and an optional pepper.
pub struct Argon2Hasher {
    params: HashParams,
    argon_params: Params,
    pepper: Option<Zeroizing<Vec<u8>>>,
}

impl std::fmt::Debug for Argon2Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Argon2Hasher")
            .field("params", &self.params)
            .field("pepper", &self.pepper.as_ref().map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

impl Argon2Hasher {
    /// A hasher with `params` and an optional `pepper`.
    pub fn new(params: HashParams, pepper: Option<Vec<u8>>) -> Result<Self> {
        if pepper
            .as_ref()
            .is_some_and(|p| p.is_empty() || p.len() > 64)
        {
            return Err(Error::Config("the pepper must be 1-64 bytes".into()));
        }
        Ok(Self {
            params,
            argon_params: params.to_argon2()?,
            pepper: pepper.map(Zeroizing::new),
        })
    }

    fn argon(&self, params: Params) -> Result<Argon2<'_>> {
        self.argon_with(Version::V0x13, params)
    }

    fn argon_with(&self, version: Version, params: Params) -> Result<Argon2<'_>> {
        match &self.pepper {
            Some(p) => Argon2::new_with_secret(p, Algorithm::Argon2id, version, params)
                .map_err(|e| Error::Config(format!("argon2: {e}"))),
            None => Ok(Argon2::new(Algorithm::Argon2id, version, params)),
        }
    }

    /// Hash `password` with a fresh 16-byte `salt`; returns the PHC string.
    pub fn hash(&self, password: &Password, salt: &[u8; 16]) -> Result<String> {
        let config = |e: &dyn std::fmt::Display| Error::Config(format!("argon2: {e}"));
        let params = &self.argon_params;
        let argon = self.argon(params.clone())?;
        let mut out = Zeroizing::new([0u8; Params::DEFAULT_OUTPUT_LEN]);
        self.with_memory(params.block_count(), |blocks| {
            argon.hash_password_into_with_memory(password.as_bytes(), salt, &mut out[..], blocks)
        })
        .map_err(|e| config(&e))?;
        let phc = PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(params).map_err(|e| config(&e))?,
            salt: Some(Salt::new(salt).map_err(|e| config(&e))?),
            hash: Some(Output::new(&out[..]).map_err(|e| config(&e))?),
        };
        Ok(phc.to_string())
    }

    /// Whether `password` matches the PHC string `phc` (with the parameters stored in it).
    /// A malformed PHC string never matches.
    #[must_use]
    pub fn verify(&self, password: &Password, phc: &str) -> bool {
        let Ok(parsed) = PasswordHash::new(phc) else {
            return false;
        };
        if parsed.algorithm.as_str() != "argon2id" {
            return false;
        }
        let Ok(params) = Params::try_from(&parsed) else {
            return false;
        };
        // Refuse absurd stored costs rather than allocate them.
        if params.m_cost() > 4 * 1024 * 1024 || params.t_cost() > 64 {
            return false;
        }
        // What argon2's `PasswordVerifier` does, on this thread's kept memory: hash with
        // the stored salt, version and parameters, compare in constant time.
        let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else {
            return false;
        };
        let Ok(version) = parsed.version.map_or(Ok(Version::V0x13), Version::try_from) else {
            return false;
        };
        let blocks = params.block_count();
        let Ok(argon) = self.argon_with(version, params) else {
            return false;
        };
        let mut out = Zeroizing::new(vec![0u8; expected.len()]);
        let hashed = self.with_memory(blocks, |memory| {
            argon.hash_password_into_with_memory(password.as_bytes(), salt, &mut out, memory)
        });
        hashed.is_ok() && bool::from(out.as_slice().ct_eq(expected.as_bytes()))
    }

    /// Run `f` on `blocks` argon2 memory blocks. A hash pool worker keeps one buffer the
    /// size of the configured parameters for its whole life, so hashing holds pool size ×
    /// `m_kib` however many hashes run. (A fresh 19 MiB allocation per hash made glibc
    /// raise its mmap threshold and keep freed buffers in its per-thread arenas: over
    /// 300 MiB resident after 100 concurrent logins on two workers.) Elsewhere, and for
    /// larger stored parameters, the memory is allocated for the call.
    fn with_memory<T>(&self, blocks: usize, f: impl FnOnce(&mut [Block]) -> T) -> T {
        let keep = self.argon_params.block_count();
        POOL_MEMORY.with(|slot| match slot.try_borrow_mut() {
            Ok(mut slot) if blocks <= keep => match slot.as_mut() {
                Some(memory) => {
                    if memory.len() < keep {
                        memory.resize(keep, Block::new());
                    }
                    f(&mut memory[..blocks])
                }
                None => f(&mut vec![Block::new(); blocks]),
            },
            _ => f(&mut vec![Block::new(); blocks]),
        })
    }

    /// Whether a stored PHC string was made with other parameters than the current ones.
    #[must_use]
    pub fn needs_rehash(&self, phc: &str) -> bool {
        let Ok(parsed) = PasswordHash::new(phc) else {
            return true;
        };
        Params::try_from(&parsed).map_or(true, |p| {
            p.m_cost() != self.params.m_kib
                || p.t_cost() != self.params.t
                || p.p_cost() != self.params.p
                || parsed.algorithm.as_str() != "argon2id"
        })
    }

    /// The parameters new hashes use.
    #[must_use]
    pub const fn params(&self) -> HashParams {
        self.params
    }
}

type Job = Box<dyn FnOnce() + Send>;

/// A fixed pool of hashing threads with a bounded queue that fails fast when full.
#[derive(Debug)]
pub struct HashPool {
    tx: Mutex<Option<SyncSender<Job>>>,
    depth: Arc<AtomicUsize>,
    workers: usize,
    queue: usize,
}

impl HashPool {
    /// Start `workers` threads sharing a queue of `queue` waiting jobs.
    pub fn new(workers: usize, queue: usize) -> Result<Self> {
        if workers == 0 || workers > 256 || queue > 65_536 {
            return Err(Error::Config(
                "hash pool: 1-256 workers and at most 65536 queued jobs".into(),
            ));
        }
        let (tx, rx) = mpsc::sync_channel::<Job>(queue);
        let rx = Arc::new(Mutex::new(rx));
        let depth = Arc::new(AtomicUsize::new(0));
        for i in 0..workers {
            let rx = Arc::clone(&rx);
            std::thread::Builder::new()
                .name(format!("tessera-hash-{i}"))
                .spawn(move || worker(&rx))
                .map_err(|e| Error::Config(format!("cannot start hash worker: {e}")))?;
        }
        Ok(Self {
            tx: Mutex::new(Some(tx)),
            depth,
            workers,
            queue,
        })
    }

    /// Run `f` on the pool and await its result. Fails at once with
    /// [`Error::Overloaded`] when the queue is full.
    pub async fn run<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let (done, result) = tokio::sync::oneshot::channel();
        let depth = Arc::clone(&self.depth);
        let job: Job = Box::new(move || {
            // A panicking job must not kill the worker: catch it, the caller sees Overloaded.
            let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
            // The depth drops before the caller is woken, so a caller that has its
            // answer never observes its own job as still queued.
            depth.fetch_sub(1, Ordering::SeqCst);
            if let Ok(value) = out {
                let _ = done.send(value);
            }
        });
        let sent = {
            let guard = self.tx.lock().unwrap_or_else(PoisonError::into_inner);
            match guard.as_ref() {
                Some(tx) => {
                    self.depth.fetch_add(1, Ordering::SeqCst);
                    tx.try_send(job)
                }
                None => return Err(Error::Overloaded { retry_after: 1 }),
            }
        };
        match sent {
            Ok(()) => {}
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.depth.fetch_sub(1, Ordering::SeqCst);
                return Err(Error::Overloaded { retry_after: 1 });
            }
        }
        result
            .await
            .map_err(|_| Error::Overloaded { retry_after: 1 })
    }

    /// Jobs queued or running now.
    #[must_use]
    pub fn queue_depth(&self) -> usize {
        self.depth.load(Ordering::SeqCst)
    }

    /// Number of worker threads.
    #[must_use]
    pub const fn workers(&self) -> usize {
        self.workers
    }

    /// Capacity of the waiting queue.
    #[must_use]
    pub const fn queue_capacity(&self) -> usize {
        self.queue
    }
}

impl Drop for HashPool {
    fn drop(&mut self) {
        // Dropping the sender ends the workers once the queue is drained.
        self.tx
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
    }
}

thread_local! {
    /// A hash pool worker's argon2 memory, kept between hashes (see `with_memory`);
    /// `None` on every other thread.
    static POOL_MEMORY: RefCell<Option<Vec<Block>>> = const { RefCell::new(None) };
}

fn worker(rx: &Mutex<Receiver<Job>>) {
    POOL_MEMORY.with(|slot| *slot.borrow_mut() = Some(Vec::new()));
    loop {
        let job = {
            let guard = rx.lock().unwrap_or_else(PoisonError::into_inner);
            guard.recv()
        };
        let Ok(job) = job else { return };
        job();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pw(s: &str) -> Password {
        Password::for_login(s, 128).unwrap()
    }

    #[test]
    fn hash_verify_and_rehash_detection() {
        let h = Argon2Hasher::new(HashParams::INSECURE_FOR_TESTS, None).unwrap();
        let phc = h.hash(&pw("correct horse battery"), &[7; 16]).unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=64,t=1,p=1$"));
        assert!(h.verify(&pw("correct horse battery"), &phc));
        assert!(!h.verify(&pw("correct horse batterY"), &phc));
        assert!(!h.verify(&pw("correct horse batter"), &phc));
        assert!(!h.verify(&pw("correct horse battery"), "not a phc"));
        assert!(!h.needs_rehash(&phc));
        let newer = Argon2Hasher::new(
            HashParams {
                m_kib: 128,
                t: 1,
                p: 1,
            },
            None,
        )
        .unwrap();
        assert!(newer.needs_rehash(&phc));
        assert!(
            newer.verify(&pw("correct horse battery"), &phc),
            "old params still verify"
        );
    }

    #[test]
    fn same_password_different_salts_differ() {
        let h = Argon2Hasher::new(HashParams::INSECURE_FOR_TESTS, None).unwrap();
        let a = h.hash(&pw("same password here"), &[1; 16]).unwrap();
        let b = h.hash(&pw("same password here"), &[2; 16]).unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn pepper_is_required_to_verify() {
        let peppered =
            Argon2Hasher::new(HashParams::INSECURE_FOR_TESTS, Some(b"pepper-1".to_vec())).unwrap();
        let other =
            Argon2Hasher::new(HashParams::INSECURE_FOR_TESTS, Some(b"pepper-2".to_vec())).unwrap();
        let plain = Argon2Hasher::new(HashParams::INSECURE_FOR_TESTS, None).unwrap();
        let phc = peppered
            .hash(&pw("correct horse battery"), &[3; 16])
            .unwrap();
        assert!(peppered.verify(&pw("correct horse battery"), &phc));
        assert!(!other.verify(&pw("correct horse battery"), &phc));
        assert!(!plain.verify(&pw("correct horse battery"), &phc));
        assert!(!phc.contains("pepper"));
    }

    #[test]
    fn owasp_default() {
        assert!(HashParams::default().meets_owasp());
        assert!(!HashParams::INSECURE_FOR_TESTS.meets_owasp());
    }

    #[tokio::test]
    async fn full_queue_fails_fast() {
        let pool = Arc::new(HashPool::new(1, 1).unwrap());
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let wait = Arc::new(Mutex::new(wait));
        let w = Arc::clone(&wait);
        // occupy the worker
        let p = Arc::clone(&pool);
        let running = tokio::spawn(async move {
            p.run(move || {
                let _ = w.lock().unwrap().recv();
            })
            .await
        });
        while pool.queue_depth() == 0 {
            tokio::task::yield_now().await;
        }
        // wait until the worker took the job off the queue, then fill the one slot
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let p = Arc::clone(&pool);
        let queued = tokio::spawn(async move { p.run(|| 1).await });
        while pool.queue_depth() < 2 {
            tokio::task::yield_now().await;
        }
        assert_eq!(
            pool.run(|| 2).await,
            Err(Error::Overloaded { retry_after: 1 })
        );
        release.send(()).unwrap();
        running.await.unwrap().unwrap();
        assert_eq!(queued.await.unwrap().unwrap(), 1);
        assert_eq!(pool.run(|| 3).await.unwrap(), 3);
    }

    /// Hashes and verifies exactly as argon2's own `PasswordHasher`/`PasswordVerifier`,
    /// whose PHC strings the stores already hold: same string for the same salt, each
    /// accepts the other's, with and without a pepper, on a pool worker (kept memory)
    /// and off it.
    #[tokio::test]
    async fn phc_strings_match_argon2s_own_on_and_off_the_pool() {
        use argon2::{PasswordHasher as _, PasswordVerifier as _};
        let params = HashParams {
            m_kib: 256,
            t: 2,
            p: 1,
        };
        let pool = HashPool::new(1, 4).unwrap();
        for pepper in [None, Some(b"pepper!".to_vec())] {
            let h = Arc::new(Argon2Hasher::new(params, pepper.clone()).unwrap());
            let reference = match &pepper {
                Some(p) => Argon2::new_with_secret(
                    p,
                    Algorithm::Argon2id,
                    Version::V0x13,
                    h.argon_params.clone(),
                )
                .unwrap(),
                None => Argon2::new(Algorithm::Argon2id, Version::V0x13, h.argon_params.clone()),
            };
            let theirs = reference
                .hash_password_with_salt(b"correct horse battery", &[9; 16])
                .unwrap()
                .to_string();
            let ours = h.hash(&pw("correct horse battery"), &[9; 16]).unwrap();
            assert_eq!(ours, theirs);
            assert!(h.verify(&pw("correct horse battery"), &theirs));
            assert!(!h.verify(&pw("correct horse batterx"), &theirs));
            reference
                .verify_password(b"correct horse battery", &PasswordHash::new(&ours).unwrap())
                .unwrap();
            for _ in 0..3 {
                let (h, ours) = (Arc::clone(&h), ours.clone());
                let (on_pool, ok, bad) = pool
                    .run(move || {
                        (
                            h.hash(&pw("correct horse battery"), &[9; 16]).unwrap(),
                            h.verify(&pw("correct horse battery"), &ours),
                            h.verify(&pw("Correct horse battery"), &ours),
                        )
                    })
                    .await
                    .unwrap();
                assert_eq!(on_pool, theirs);
                assert!(ok && !bad);
            }
        }
    }

    /// A stored hash with more memory than the configured parameters (made before they
    /// were lowered) still verifies on a worker, with memory allocated for the call.
    #[tokio::test]
    async fn larger_stored_parameters_verify_on_the_pool() {
        let small = Arc::new(Argon2Hasher::new(HashParams::INSECURE_FOR_TESTS, None).unwrap());
        let large = Argon2Hasher::new(
            HashParams {
                m_kib: 512,
                t: 1,
                p: 1,
            },
            None,
        )
        .unwrap();
        let phc = large.hash(&pw("correct horse battery"), &[3; 16]).unwrap();
        let pool = HashPool::new(1, 4).unwrap();
        for _ in 0..2 {
            let (small, phc) = (Arc::clone(&small), phc.clone());
            let ok = pool
                .run(move || {
                    small.verify(&pw("correct horse battery"), &phc)
                        && small.verify(
                            &pw("correct horse battery"),
                            &small.hash(&pw("correct horse battery"), &[4; 16]).unwrap(),
                        )
                })
                .await
                .unwrap();
            assert!(ok);
        }
    }
}
