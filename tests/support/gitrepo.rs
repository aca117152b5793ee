//! Real git repositories for tests, made with libgit2 in a temporary
//! folder: commits, merges, history rewritten as a force-push does, and
//! commits signed with SSH keys the way `git commit -S` (gpg.format=ssh)
//! signs them.

#![allow(dead_code)]

use git2::{Oid, Repository, Signature};
use std::path::{Path, PathBuf};

pub struct GitRepo {
    pub dir: PathBuf,
    pub repo: Repository,
}

/// A signing key, and its allowed-signers line.
pub struct Signer {
    pub key: ssh_key::PrivateKey,
    pub email: String,
}

impl Signer {
    pub fn new(email: &str) -> Signer {
        let key = ssh_key::PrivateKey::random(
            &mut ssh_key::rand_core::OsRng,
            ssh_key::Algorithm::Ed25519,
        )
        .unwrap();
        Signer {
            key,
            email: email.into(),
        }
    }

    /// `email namespaces="git" ssh-ed25519 AAAA...`
    pub fn allowed_line(&self) -> String {
        format!(
            "{} namespaces=\"git\" {}",
            self.email,
            self.key.public_key().to_openssh().unwrap()
        )
    }
}

fn who() -> Signature<'static> {
    Signature::now("Văn thư Sở", "vanthu@sonla.gov.vn").unwrap()
}

impl GitRepo {
    pub fn new(dir: &Path) -> GitRepo {
        std::fs::create_dir_all(dir).unwrap();
        let repo =
            Repository::init_opts(dir, git2::RepositoryInitOptions::new().initial_head("main"))
                .unwrap();
        GitRepo {
            dir: dir.to_path_buf(),
            repo,
        }
    }

    pub fn url(&self) -> String {
        self.dir.display().to_string()
    }

    pub fn write(&self, path: &str, text: &str) {
        let p = self.dir.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    pub fn remove(&self, path: &str) {
        std::fs::remove_file(self.dir.join(path)).unwrap();
    }

    fn tree(&self) -> Oid {
        let mut index = self.repo.index().unwrap();
        index
            .add_all(["*"].iter(), git2::IndexAddOption::DEFAULT, None)
            .unwrap();
        index.update_all(["*"].iter(), None).unwrap();
        index.write().unwrap();
        index.write_tree().unwrap()
    }

    fn head(&self) -> Option<git2::Commit<'_>> {
        self.repo.head().ok().and_then(|h| h.peel_to_commit().ok())
    }

    /// Commit a submodule (a gitlink to a commit) at `path`, as
    /// `git submodule add` records it.
    pub fn add_submodule(&self, path: &str) {
        let mut index = self.repo.index().unwrap();
        let target = self.head().expect("a commit to point at").id();
        index
            .add(&git2::IndexEntry {
                ctime: git2::IndexTime::new(0, 0),
                mtime: git2::IndexTime::new(0, 0),
                dev: 0,
                ino: 0,
                mode: 0o160000,
                uid: 0,
                gid: 0,
                file_size: 0,
                id: target,
                flags: 0,
                flags_extended: 0,
                path: path.as_bytes().to_vec(),
            })
            .unwrap();
        index.write().unwrap();
        let tree = self.repo.find_tree(index.write_tree().unwrap()).unwrap();
        let parent = self.head().unwrap();
        self.repo
            .commit(
                Some("HEAD"),
                &who(),
                &who(),
                &format!("Submodule {path}"),
                &tree,
                &[&parent],
            )
            .unwrap();
    }

    /// Commit the work tree on `main`.
    pub fn commit(&self, message: &str) -> Oid {
        let tree = self.repo.find_tree(self.tree()).unwrap();
        let parents: Vec<git2::Commit> = self.head().into_iter().collect();
        let refs: Vec<&git2::Commit> = parents.iter().collect();
        self.repo
            .commit(Some("HEAD"), &who(), &who(), message, &tree, &refs)
            .unwrap()
    }

    /// Commit the work tree, signed by `signer` (an SSH signature in the
    /// commit's `gpgsig` header, as git writes it).
    pub fn commit_signed(&self, message: &str, signer: &Signer) -> Oid {
        let tree = self.repo.find_tree(self.tree()).unwrap();
        let parents: Vec<git2::Commit> = self.head().into_iter().collect();
        let refs: Vec<&git2::Commit> = parents.iter().collect();
        let buf = self
            .repo
            .commit_create_buffer(&who(), &who(), message, &tree, &refs)
            .unwrap();
        let content = std::str::from_utf8(&buf).unwrap().to_string();
        let sig = signer
            .key
            .sign("git", ssh_key::HashAlg::Sha512, content.as_bytes())
            .unwrap()
            .to_pem(ssh_key::LineEnding::LF)
            .unwrap();
        let oid = self.repo.commit_signed(&content, &sig, None).unwrap();
        self.set_main(oid);
        oid
    }

    /// Point `main` at `oid`, whatever it descends from (a force-push).
    pub fn set_main(&self, oid: Oid) {
        self.repo
            .reference("refs/heads/main", oid, true, "hopthu test")
            .unwrap();
        self.repo.set_head("refs/heads/main").unwrap();
        self.repo
            .checkout_head(Some(git2::build::CheckoutBuilder::new().force()))
            .unwrap();
    }

    /// A branch at the current head.
    pub fn branch(&self, name: &str) {
        let head = self.head().unwrap();
        self.repo.branch(name, &head, true).unwrap();
    }

    /// Commit the work tree on `name` (which must exist), leaving main as is.
    pub fn commit_on(&self, name: &str, message: &str) -> Oid {
        let tree = self.repo.find_tree(self.tree()).unwrap();
        let parent = self
            .repo
            .find_branch(name, git2::BranchType::Local)
            .unwrap()
            .get()
            .peel_to_commit()
            .unwrap();
        self.repo
            .commit(
                Some(&format!("refs/heads/{name}")),
                &who(),
                &who(),
                message,
                &tree,
                &[&parent],
            )
            .unwrap()
    }

    /// A merge commit on main of `name`, taking `name`'s tree (the way a
    /// pull request is merged).
    pub fn merge(&self, name: &str, message: &str) -> Oid {
        let theirs = self
            .repo
            .find_branch(name, git2::BranchType::Local)
            .unwrap()
            .get()
            .peel_to_commit()
            .unwrap();
        let ours = self.head().unwrap();
        let tree = theirs.tree().unwrap();
        let oid = self
            .repo
            .commit(
                Some("HEAD"),
                &who(),
                &who(),
                message,
                &tree,
                &[&ours, &theirs],
            )
            .unwrap();
        self.repo
            .checkout_head(Some(git2::build::CheckoutBuilder::new().force()))
            .unwrap();
        oid
    }
}
