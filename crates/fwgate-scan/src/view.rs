//! The file system as the device sees it: every regular file with every path it is reachable
//! by, resolving the image's own symlinks inside the image's root.
//!
//! Rules judge `/etc/shadow`, not "the regular file stored at `etc/shadow`": when the image
//! stores `/etc` as a link to `/var/etc`, or `/etc/shadow` as a link to `/tmp/shadow.def`, the
//! file behind it is what the device reads. Links are resolved the way the kernel resolves them
//! for a process chrooted at the file system's root: component by component, `..` stops at
//! the root, at most [`MAX_HOPS`] links per lookup. Nothing on the host is touched; only the
//! manifest's nodes are used.
//!
//! Each container (one SquashFS, one directory given to `fwgate scan DIR`) is its own root.
//! Raw payloads (a kernel, a decompressed stream) are visible only under their own name.

use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use fwgate_unpack::{Node, NodeKind, Problem, Tree};

/// Most symlinks followed in one lookup (Linux's limit is 40).
pub const MAX_HOPS: usize = 40;
/// Most components walked resolving links, per root: bounds a tree of long link chains.
const MAX_RESOLVE_WORK: u64 = 1 << 27;
/// Most paths enumerated per root, over the number of its nodes; an image whose links fan
/// out beyond this is reported, since a rule could miss a file by a path not enumerated.
const MAX_EXTRA_PATHS: usize = 1 << 18;

/// A regular file and the paths it is reachable by.
#[derive(Debug, Clone)]
pub struct Visible {
    /// Index of the file's node in [`Tree::nodes`].
    pub node: usize,
    /// Device paths without the leading `/`, sorted, the stored path first when it is one.
    pub paths: Vec<String>,
}

/// One file system root: its nodes by path and its directories' entries.
#[derive(Debug, Default)]
struct Root {
    /// Normalised path (no leading `/`, `""` for the root) to node index.
    by_path: HashMap<String, usize>,
    /// Directory path to its entries (name, node index), sorted by name.
    children: HashMap<String, Vec<(String, usize)>>,
}

/// What a lookup arrived at.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    /// The root directory itself (it may have no node).
    RootDir,
    /// A node: its index and its canonical (link-free) path.
    Node(usize, String),
}

/// The directories above one being walked, innermost first (shared, never copied).
#[derive(Debug)]
struct Chain {
    dir: String,
    up: Option<Rc<Chain>>,
}

impl Chain {
    fn holds(mut at: &Option<Rc<Chain>>, dir: &str) -> bool {
        while let Some(c) = at {
            if c.dir == dir {
                return true;
            }
            at = &c.up;
        }
        false
    }
}

/// The device view of a [`Tree`].
#[derive(Debug)]
pub struct DeviceView<'t> {
    tree: &'t Tree,
    /// Every regular file, in node order.
    files: Vec<Visible>,
    /// Root of each node (index into `roots`); `None` for raw payloads.
    root_of: Vec<Option<usize>>,
    roots: Vec<Root>,
    /// Limits reached while resolving, as problems (they fail the gate).
    pub problems: Vec<Problem>,
    /// Links whose target is not in the image (made at run time, or broken).
    dangling: Vec<Dangling>,
}

/// A symlink the image's own tree cannot resolve: the device reads whatever is at its target
/// at run time (often a file a boot script writes to /tmp or /var).
#[derive(Debug, Clone)]
pub struct Dangling {
    /// The link's node in [`Tree::nodes`].
    pub node: usize,
    /// The device path of the link, without the leading `/`.
    pub path: String,
    /// What the link points at, as stored.
    pub target: String,
}

fn normalise(inner: &str) -> String {
    inner
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect::<Vec<_>>()
        .join("/")
}

fn parent_and_name(path: &str) -> (&str, &str) {
    match path.rfind('/') {
        Some(i) => (&path[..i], &path[i + 1..]),
        None => ("", path),
    }
}

impl Root {
    fn node_kind<'a>(&self, tree: &'a Tree, i: usize) -> Option<&'a Node> {
        tree.nodes.get(i)
    }

    /// Resolves `path` (absolute inside the root, or relative to directory `base`), following
    /// links; `follow_last` says whether a link in the last component is followed.
    /// Each component walked adds to `work` (with the depth it is joined at); a lookup stops
    /// once `work` passes [`MAX_RESOLVE_WORK`], and the caller reports it.
    fn resolve(
        &self,
        tree: &Tree,
        base: &str,
        path: &str,
        follow_last: bool,
        work: &mut u64,
    ) -> Option<Target> {
        let mut hops = 0usize;
        // Components still to walk, last first (so pushing a link's target is cheap).
        let start: Vec<String> = if path.starts_with('/') {
            Vec::new()
        } else {
            base.split('/')
                .filter(|c| !c.is_empty())
                .map(str::to_string)
                .collect()
        };
        let mut todo: Vec<String> = path
            .split('/')
            .filter(|c| !c.is_empty() && *c != ".")
            .rev()
            .map(str::to_string)
            .collect();
        let mut at: Vec<String> = start;
        while let Some(comp) = todo.pop() {
            *work += 1 + at.len() as u64;
            if *work > MAX_RESOLVE_WORK {
                return None;
            }
            if comp == ".." {
                at.pop();
                continue;
            }
            let mut here = at.join("/");
            if !here.is_empty() {
                here.push('/');
            }
            here.push_str(&comp);
            let &i = self.by_path.get(&here)?;
            let node = self.node_kind(tree, i)?;
            let last = todo.is_empty();
            match node.kind {
                NodeKind::Symlink if !last || follow_last => {
                    hops += 1;
                    if hops > MAX_HOPS {
                        return None;
                    }
                    let link = node.link.as_deref()?;
                    if link.starts_with('/') {
                        at.clear();
                    }
                    todo.extend(
                        link.split('/')
                            .filter(|c| !c.is_empty() && *c != ".")
                            .rev()
                            .map(str::to_string),
                    );
                }
                NodeKind::Dir => at.push(comp),
                _ if last => {
                    at.push(comp);
                    return Some(Target::Node(i, at.join("/")));
                }
                // A file or device used as a directory: ENOTDIR.
                _ => return None,
            }
        }
        let canonical = at.join("/");
        if canonical.is_empty() {
            return Some(Target::RootDir);
        }
        self.by_path
            .get(&canonical)
            .map(|&i| Target::Node(i, canonical))
    }
}

impl<'t> DeviceView<'t> {
    /// Builds the view of `tree`.
    pub fn new(tree: &'t Tree) -> DeviceView<'t> {
        let mut keys: BTreeMap<(String, u64, Vec<String>), usize> = BTreeMap::new();
        let mut roots: Vec<Root> = Vec::new();
        let mut root_of = vec![None; tree.nodes.len()];
        for (i, node) in tree.nodes.iter().enumerate() {
            if node.raw {
                continue;
            }
            let key = (
                node.origin.parent.clone(),
                node.origin.offset,
                node.origin.formats.clone(),
            );
            let r = *keys.entry(key).or_insert_with(|| {
                roots.push(Root::default());
                roots.len() - 1
            });
            root_of[i] = Some(r);
            let path = normalise(&node.origin.inner_path);
            let root = &mut roots[r];
            if path.is_empty() {
                continue;
            }
            let (dir, name) = parent_and_name(&path);
            root.children
                .entry(dir.to_string())
                .or_default()
                .push((name.to_string(), i));
            root.by_path.insert(path, i);
        }
        for root in &mut roots {
            for entries in root.children.values_mut() {
                entries.sort();
            }
        }
        let mut view = DeviceView {
            tree,
            files: Vec::new(),
            root_of,
            roots,
            problems: Vec::new(),
            dangling: Vec::new(),
        };
        view.enumerate();
        view
    }

    /// Every regular file with its device paths, in node order.
    pub fn files(&self) -> &[Visible] {
        &self.files
    }

    /// Links whose target the image does not hold, by device path.
    pub fn dangling(&self) -> &[Dangling] {
        &self.dangling
    }

    /// The tree this view is over.
    pub fn tree(&self) -> &'t Tree {
        self.tree
    }

    /// The regular file (or other non-link node) that `path` names in the root that holds
    /// node `near`, following links; `path` is absolute in that root, or relative to the
    /// directory holding `near`.
    pub fn lookup(&self, near: usize, path: &str) -> Option<&'t Node> {
        let root = &self.roots[self.root_of.get(near).copied().flatten()?];
        let base = normalise(&self.tree.nodes.get(near)?.origin.inner_path);
        let (dir, _) = parent_and_name(&base);
        match root.resolve(self.tree, dir, path, true, &mut 0)? {
            Target::Node(i, _) => self.tree.nodes.get(i),
            Target::RootDir => None,
        }
    }

    fn enumerate(&mut self) {
        let tree = self.tree;
        let mut paths: Vec<Vec<String>> = vec![Vec::new(); tree.nodes.len()];
        for (i, node) in tree.nodes.iter().enumerate() {
            if node.raw && node.kind == NodeKind::File {
                paths[i].push(normalise(&node.origin.inner_path));
            }
        }
        for (r, root) in self.roots.iter().enumerate() {
            let budget = root.by_path.len() + MAX_EXTRA_PATHS;
            let mut count = 0usize;
            let mut truncated = false;
            let mut work = 0u64;
            // (visible dir path, canonical dir path, the chain of directories above it)
            let mut stack: Vec<(String, String, Option<Rc<Chain>>)> =
                vec![(String::new(), String::new(), None)];
            while let Some((visible, canonical, ancestors)) = stack.pop() {
                let Some(entries) = root.children.get(&canonical) else {
                    continue;
                };
                for (name, i) in entries.iter().rev() {
                    // Every entry visited counts, whatever it turns out to be.
                    count += 1;
                    if count > budget || work > MAX_RESOLVE_WORK {
                        truncated = true;
                        break;
                    }
                    let vpath = if visible.is_empty() {
                        name.clone()
                    } else {
                        format!("{visible}/{name}")
                    };
                    let Some(node) = tree.nodes.get(*i) else {
                        continue;
                    };
                    let target = match node.kind {
                        NodeKind::Symlink => root.resolve(tree, &canonical, name, true, &mut work),
                        _ => Some(Target::Node(*i, normalise(&node.origin.inner_path))),
                    };
                    let Some(target) = target else {
                        if node.kind == NodeKind::Symlink && self.dangling.len() < budget {
                            self.dangling.push(Dangling {
                                node: *i,
                                path: vpath,
                                target: node.link.clone().unwrap_or_default(),
                            });
                        }
                        continue;
                    };
                    let (ti, tcanon) = match target {
                        Target::Node(ti, c) => (Some(ti), c),
                        Target::RootDir => (None, String::new()),
                    };
                    let tkind = ti.and_then(|t| tree.nodes.get(t)).map(|n| n.kind);
                    match tkind {
                        Some(NodeKind::File) => {
                            if let Some(p) = ti.and_then(|t| paths.get_mut(t)) {
                                p.push(vpath);
                            }
                        }
                        Some(NodeKind::Dir) | None => {
                            // Only a link can loop: one to a directory on the way here. Real
                            // directories are walked however deep (their number is bounded by
                            // the manifest); links by the path budget.
                            if node.kind == NodeKind::Symlink
                                && (tcanon == canonical || Chain::holds(&ancestors, &tcanon))
                            {
                                continue;
                            }
                            let up = Rc::new(Chain {
                                dir: canonical.clone(),
                                up: ancestors.clone(),
                            });
                            stack.push((vpath, tcanon, Some(up)));
                        }
                        _ => {}
                    }
                }
                if truncated {
                    break;
                }
            }
            if truncated {
                let sample = tree
                    .nodes
                    .iter()
                    .zip(&self.root_of)
                    .find(|(_, o)| **o == Some(r))
                    .map(|(n, _)| n.origin.parent.clone())
                    .unwrap_or_default();
                self.problems.push(Problem {
                    file: sample,
                    format: None,
                    offset: None,
                    message: format!(
                        "symbolic links fan out to more than {budget} paths (or {MAX_RESOLVE_WORK} resolution steps): files reachable only by the paths beyond were not checked under those paths"
                    ),
                    key: None,
                });
            }
        }
        for (i, node) in tree.nodes.iter().enumerate() {
            if node.kind != NodeKind::File {
                continue;
            }
            let mut p = std::mem::take(&mut paths[i]);
            let stored = normalise(&node.origin.inner_path);
            p.sort();
            p.dedup();
            // A file only reachable through an unlisted parent still has its stored path.
            if let Some(at) = p.iter().position(|x| *x == stored) {
                p.remove(at);
            }
            p.insert(0, stored);
            self.files.push(Visible { node: i, paths: p });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fwgate_unpack::Origin;

    fn node(inner: &str, kind: NodeKind, link: Option<&str>) -> Node {
        Node {
            path: format!("fs{inner}"),
            kind,
            size: 0,
            sha256: None,
            mode: 0o644,
            link: link.map(str::to_string),
            origin: Origin {
                parent: String::new(),
                formats: vec!["squashfs".into()],
                offset: 0,
                inner_path: inner.to_string(),
            },
            ..Node::default()
        }
    }

    fn tree(nodes: Vec<Node>) -> Tree {
        Tree {
            schema: String::new(),
            root: std::path::PathBuf::from("/nonexistent"),
            image: None,
            nodes,
            regions: Vec::new(),
            problems: Vec::new(),
        }
    }

    fn paths_of<'a>(view: &'a DeviceView, inner: &str) -> &'a [String] {
        let f = view
            .files()
            .iter()
            .find(|f| view.tree().nodes[f.node].origin.inner_path == inner)
            .unwrap();
        &f.paths
    }

    #[test]
    fn symlinked_directories_and_files_are_seen_by_their_device_paths() {
        use NodeKind::*;
        let t = tree(vec![
            node("/etc", Symlink, Some("/var/etc")),
            node("/var", Dir, None),
            node("/var/etc", Dir, None),
            node("/var/etc/init.d", Symlink, Some("../rc")),
            node("/var/rc", Dir, None),
            node("/var/rc/rcS", File, None),
            node(
                "/var/etc/shadow",
                Symlink,
                Some("/var/../../var/shadow.real"),
            ),
            node("/var/shadow.real", File, None),
            node("/loop", Symlink, Some("/")),
            node("/dangling", Symlink, Some("/nowhere/x")),
        ]);
        let view = DeviceView::new(&t);
        assert_eq!(
            paths_of(&view, "/var/rc/rcS"),
            ["var/rc/rcS", "etc/init.d/rcS", "var/etc/init.d/rcS"]
        );
        assert_eq!(
            paths_of(&view, "/var/shadow.real"),
            ["var/shadow.real", "etc/shadow", "var/etc/shadow"]
        );
        assert!(view.problems.is_empty(), "{:?}", view.problems);
        assert_eq!(
            view.lookup(5, "/etc/shadow")
                .map(|n| n.origin.inner_path.as_str()),
            Some("/var/shadow.real")
        );
    }

    #[test]
    fn link_loops_and_chains_end() {
        use NodeKind::*;
        let mut nodes = vec![
            node("/a", Symlink, Some("/b")),
            node("/b", Symlink, Some("/a")),
            node("/d", Dir, None),
            node("/d/up", Symlink, Some("..")),
            node("/d/f", File, None),
        ];
        // A chain of 50 links: longer than MAX_HOPS, so the last does not resolve.
        for i in 0..50 {
            nodes.push(node(
                &format!("/c{i}"),
                Symlink,
                Some(&format!("/c{}", i + 1)),
            ));
        }
        nodes.push(node("/c50", File, None));
        let t = tree(nodes);
        let view = DeviceView::new(&t);
        assert_eq!(paths_of(&view, "/d/f"), ["d/f"]);
        let c50 = paths_of(&view, "/c50");
        assert!(c50.contains(&"c11".to_string()) && !c50.contains(&"c0".to_string()));
    }

    #[test]
    fn deep_trees_are_walked_and_a_link_back_to_the_top_ends() {
        use NodeKind::*;
        let mut nodes = Vec::new();
        let mut p = String::new();
        for _ in 0..3000 {
            p.push_str("/d");
            nodes.push(node(&p, Dir, None));
        }
        nodes.push(node(&format!("{p}/f"), File, None));
        nodes.push(node(&format!("{p}/top"), Symlink, Some("/")));
        nodes.push(node("/etc", Symlink, Some(&p[1..])));
        let t = tree(nodes);
        let view = DeviceView::new(&t);
        assert!(view.problems.is_empty(), "{:?}", view.problems);
        let f = paths_of(&view, &format!("{p}/f"));
        assert_eq!(f.len(), 2, "stored and /etc/f");
        assert!(f.contains(&"etc/f".to_string()));
    }

    /// `levels` directories, each holding two links to the next: 2^levels paths to the last,
    /// `/l{levels}`.
    fn ladder(levels: usize) -> Vec<Node> {
        use NodeKind::*;
        let mut nodes = Vec::new();
        for i in 0..levels {
            let next = format!("/l{}", i + 1);
            nodes.push(node(&format!("/l{i}"), Dir, None));
            nodes.push(node(&format!("/l{i}/x"), Symlink, Some(&next)));
            nodes.push(node(&format!("/l{i}/y"), Symlink, Some(&next)));
        }
        nodes.push(node(&format!("/l{levels}"), Dir, None));
        nodes
    }

    #[test]
    fn every_entry_visited_counts_against_the_budget() {
        use NodeKind::*;
        // 16 levels of two links each to the next, then 2 000 broken links: 2^16 visits of
        // the bottom directory would resolve 131 million links; the budget stops it.
        let mut nodes = ladder(16);
        for j in 0..2000 {
            nodes.push(node(&format!("/l16/b{j}"), Symlink, Some("/tmp/gone")));
        }
        let t = tree(nodes);
        let view = DeviceView::new(&t);
        assert_eq!(view.problems.len(), 1, "{:?}", view.problems);
        assert!(view.dangling().len() <= (1 << 18) + t.nodes.len());
    }

    #[test]
    fn fan_out_beyond_the_budget_is_a_problem() {
        use NodeKind::*;
        // 20 levels, each holding two links to the next: 2^20 paths to the last file.
        let mut nodes = ladder(20);
        nodes.push(node("/l20/f", File, None));
        let t = tree(nodes);
        let view = DeviceView::new(&t);
        assert_eq!(view.problems.len(), 1, "{:?}", view.problems);
        assert!(view.problems[0].message.contains("fan out"));
    }
}
