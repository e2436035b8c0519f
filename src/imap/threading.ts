/**
 * THREAD algorithms of RFC 5256 §4 over the fields stored at ingest:
 * ORDEREDSUBJECT (by base subject, then sent date) and REFERENCES (the
 * message-id links of References / In-Reply-To, then subjects gathered
 * under the root, siblings by sent date). The result is written as the
 * thread-list of RFC 5256 §5.
 */
import type { SortItem } from './sort-order.js';
import { sentDateOf } from './sort-order.js';

export interface ThreadItem extends SortItem {
  messageId: string | null;
  references: string[];
}

/** A thread node: a message, or a dummy (`item` null) standing for a referenced message not in the set. */
interface Node {
  item: ThreadItem | null;
  parent: Node | null;
  children: Node[];
}

function byDateThenSeq(a: ThreadItem, b: ThreadItem): number {
  return sentDateOf(a) - sentDateOf(b) || a.seq - b.seq;
}

/** ORDEREDSUBJECT: threads of equal base subject; the first message is the parent of the others, all siblings. */
export function orderedSubject(items: ThreadItem[]): Node[] {
  const sorted = [...items].sort((a, b) => (a.fields.subject < b.fields.subject ? -1 : a.fields.subject > b.fields.subject ? 1 : byDateThenSeq(a, b)));
  const roots: Node[] = [];
  let current: Node | null = null;
  for (const item of sorted) {
    const node: Node = { item, parent: null, children: [] };
    if (current && current.item!.fields.subject === item.fields.subject) {
      node.parent = current;
      current.children.push(node);
    } else {
      current = node;
      roots.push(node);
    }
  }
  return roots.sort((a, b) => byDateThenSeq(a.item!, b.item!));
}

function isAncestor(candidate: Node, of: Node): boolean {
  for (let n: Node | null = of; n; n = n.parent) if (n === candidate) return true;
  return false;
}

function unlink(node: Node): void {
  if (!node.parent) return;
  const siblings = node.parent.children;
  siblings.splice(siblings.indexOf(node), 1);
  node.parent = null;
}

function link(parent: Node, child: Node): void {
  unlink(child);
  child.parent = parent;
  parent.children.push(child);
}

/** RFC 5256 §4 REFERENCES, steps 1 to 6. */
export function references(items: ThreadItem[]): Node[] {
  const byId = new Map<string, Node>();
  const container = (id: string): Node => {
    let node = byId.get(id);
    if (!node) byId.set(id, (node = { item: null, parent: null, children: [] }));
    return node;
  };
  const all: Node[] = [];
  // Step 1, in mailbox order.
  for (const item of [...items].sort((a, b) => a.seq - b.seq)) {
    let node: Node;
    const existing = item.messageId ? byId.get(item.messageId) : undefined;
    if (item.messageId && (!existing || existing.item === null)) {
      node = container(item.messageId);
      node.item = item;
    } else {
      // No Message-ID, or a duplicate one: the message gets a container of its own.
      node = { item, parent: null, children: [] };
    }
    all.push(node);
    // 1A: link the references in order, never over an existing link nor into a loop.
    const refs = item.references.filter((r) => r !== item.messageId);
    for (let i = 0; i + 1 < refs.length; i++) {
      const parent = container(refs[i]!);
      const child = container(refs[i + 1]!);
      if (child.parent === null && !isAncestor(child, parent)) link(parent, child);
    }
    // 1B: the last reference is this message's parent; the References are authoritative,
    // so a parent from another message's References is dropped even when the new link
    // would make a loop and is not made (the message is then a root, as in Dovecot).
    const last = refs[refs.length - 1];
    if (last === undefined) unlink(node);
    else {
      const parent = container(last);
      if (isAncestor(node, parent)) unlink(node);
      else link(parent, node);
    }
  }
  // Step 2: the roots, from every container reachable.
  const seen = new Set<Node>();
  const roots: Node[] = [];
  for (const node of [...byId.values(), ...all]) {
    if (seen.has(node)) continue;
    seen.add(node);
    if (node.parent === null) roots.push(node);
  }
  // Step 4: prune dummies.
  const pruned = prune(roots, true);
  // Step 5: gather roots with the same base subject.
  const merged = gatherSubjects(pruned);
  // Step 6: siblings by sent date.
  sortSiblings(merged);
  return merged;
}

function prune(level: Node[], atRoot: boolean): Node[] {
  const out: Node[] = [];
  for (const node of level) {
    node.children = prune(node.children, false);
    for (const child of node.children) child.parent = node;
    if (node.item !== null) out.push(node);
    else if (node.children.length === 0) continue;
    // A dummy's children move up, except that several of them do not become roots (§4 step 4B).
    else if (!atRoot || node.children.length === 1) {
      for (const child of node.children) {
        child.parent = atRoot ? null : node.parent;
        out.push(child);
      }
    } else out.push(node);
  }
  return out;
}

function firstItem(node: Node): ThreadItem | null {
  if (node.item) return node.item;
  // A dummy stands for its earliest child (the children are not sorted yet: take the earliest).
  const items = node.children.map(firstItem).filter((i): i is ThreadItem => i !== null);
  return items.sort(byDateThenSeq)[0] ?? null;
}

function gatherSubjects(roots: Node[]): Node[] {
  const table = new Map<string, Node>();
  const subjectOf = (node: Node) => (node.item ?? node.children[0]?.item ?? firstItem(node))?.fields.subject ?? '';
  const isReply = (node: Node) => node.item?.fields.replyOrForward ?? false;
  for (const root of roots) {
    const subject = subjectOf(root);
    if (subject === '') continue;
    const old = table.get(subject);
    if (!old || (root.item === null && old.item !== null) || (old.item !== null && isReply(old) && !isReply(root) && root.item !== null)) {
      table.set(subject, root);
    }
  }
  const out: Node[] = [];
  const removed = new Set<Node>();
  for (const root of roots) {
    const subject = subjectOf(root);
    const entry = subject === '' ? undefined : table.get(subject);
    if (!entry || entry === root) continue;
    if (entry.item === null && root.item === null) {
      for (const child of root.children) link(entry, child);
      removed.add(root);
    } else if (entry.item === null) {
      link(entry, root);
      removed.add(root);
    } else if (root.item === null) {
      link(root, entry);
      removed.add(entry);
      table.set(subject, root);
    } else if (!isReply(entry) && isReply(root)) {
      link(entry, root);
      removed.add(root);
    } else {
      const dummy: Node = { item: null, parent: null, children: [] };
      link(dummy, entry);
      link(dummy, root);
      removed.add(root);
      // The dummy takes the entry's place among the roots.
      roots[roots.indexOf(entry)] = dummy;
      removed.delete(dummy);
      table.set(subject, dummy);
    }
  }
  for (const root of roots) if (!removed.has(root) && root.parent === null) out.push(root);
  return out;
}

function sortSiblings(level: Node[]): void {
  for (const node of level) sortSiblings(node.children);
  const key = new Map(level.map((n) => [n, firstItem(n)]));
  level.sort((a, b) => {
    const x = key.get(a);
    const y = key.get(b);
    return x && y ? byDateThenSeq(x, y) : 0;
  });
}

/** thread-list (RFC 5256 §5): "(3 6 (4 23)(44 7 96))"; a dummy with several children is "((3)(5))". */
export function formatThreads(roots: Node[]): string {
  return roots.map((root) => `(${formatNode(root)})`).join('');
}

function formatNode(node: Node): string {
  const head = node.item ? String(node.item.id) : '';
  if (node.children.length === 0) return head;
  if (node.children.length === 1 && node.item) return `${head} ${formatNode(node.children[0]!)}`;
  const nested = node.children.map((c) => `(${formatNode(c)})`).join('');
  return head ? `${head} ${nested}` : nested;
}
