#include "router/tree/radix_tree.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>
#include <vector>

namespace dpserve::router::tree {
namespace {

int64_t matched_by(const RadixTree& tree, const MatchResult& m, const std::string& worker) {
  auto slot = tree.slot_of(worker);
  if (!slot) return 0;
  return m.matched_units(*slot);
}

// Each id's own match through resolve(), kept across calls as the cache_aware policy keeps it.
std::vector<int64_t> lengths_for(const RadixTree& tree, std::string_view key,
                                 const std::vector<std::string_view>& ids) {
  static Candidates candidates;
  const MatchResult m = tree.match(key);
  tree.resolve(ids, candidates);
  std::vector<int64_t> out;
  for (size_t i = 0; i < candidates.size(); ++i) out.push_back(m.matched_units(candidates[i].slot));
  return out;
}

// The decision's question for `ids`: the longest match among them and its holders' positions.
std::pair<int64_t, std::vector<size_t>> best_among(const RadixTree& tree, std::string_view key,
                                                   const std::vector<std::string_view>& ids) {
  Candidates candidates;
  tree.resolve(ids, candidates);
  BestMatch best;
  tree.match(key, candidates, best);
  std::vector<size_t> holders;
  candidates.holders(best.owners, holders);
  return {best.units, holders};
}

TEST(RadixTree, EmptyTreeMatchesNothing) {
  RadixTree tree(KeyKind::kText, 1000);
  auto m = tree.match("hello");
  EXPECT_EQ(m.input_units, 5);
  EXPECT_EQ(m.max_matched_units, 0);
  EXPECT_TRUE(m.steps.empty());
  EXPECT_EQ(tree.match("").input_units, 0);
}

TEST(RadixTree, PerWorkerLongestMatch) {
  RadixTree tree(KeyKind::kText, 1000);
  tree.insert("hello world", "a");
  tree.insert("hello there", "b");
  tree.insert("help", "c");
  auto m = tree.match("hello world!");
  EXPECT_EQ(m.input_units, 12);
  EXPECT_EQ(m.max_matched_units, 11);
  EXPECT_EQ(matched_by(tree, m, "a"), 11);
  EXPECT_EQ(matched_by(tree, m, "b"), 6);
  EXPECT_EQ(matched_by(tree, m, "c"), 3);
  EXPECT_EQ(tree.check_invariants(), "");
}

TEST(RadixTree, CountsCharactersNotBytesAndNeverHalfACharacter) {
  RadixTree tree(KeyKind::kText, 1000);
  tree.insert("caf\xC3\xA9 au lait", "a");  // "café au lait": 12 characters, 13 bytes
  EXPECT_EQ(tree.worker_units("a"), 12);
  // "cafè": shares the lead byte C3 of é/è but not the character.
  auto m = tree.match("caf\xC3\xA8");
  EXPECT_EQ(m.input_units, 4);
  EXPECT_EQ(m.max_matched_units, 3);
  EXPECT_EQ(matched_by(tree, m, "a"), 3);
  tree.insert("caf\xC3\xA8", "b");
  EXPECT_EQ(tree.worker_units("b"), 4);
  EXPECT_EQ(tree.worker_units("a"), 12);
  EXPECT_EQ(tree.check_invariants(), "");
}

TEST(RadixTree, TokenIdKeysCountIds) {
  RadixTree tree(KeyKind::kTokenIds, 1000);
  std::vector<int32_t> a{1, 2, 3, 4, 5};
  std::vector<int32_t> b{1, 2, 3, 0x104, 9};  // differs from a in the 4th id's second byte
  tree.insert(token_key(a), "w");
  EXPECT_EQ(tree.worker_units("w"), 5);
  auto m = tree.match(token_key(b));
  EXPECT_EQ(m.input_units, 5);
  EXPECT_EQ(m.max_matched_units, 3);
  tree.insert(token_key(b), "v");
  EXPECT_EQ(tree.worker_units("v"), 5);
  EXPECT_EQ(tree.check_invariants(), "");
}

TEST(RadixTree, EvictionKeepsEveryWorkerWithinBudgetOnInsert) {
  RadixTree tree(KeyKind::kText, 20);
  tree.insert("aaaaaaaaaa", "w");  // 10
  tree.insert("bbbbbbbbbb", "w");  // 20
  EXPECT_EQ(tree.worker_units("w"), 20);
  tree.insert("cccccccccc", "w");  // 30 -> oldest ("a...") goes
  EXPECT_EQ(tree.worker_units("w"), 20);
  EXPECT_EQ(tree.match("aaaaaaaaaa").max_matched_units, 0);
  EXPECT_EQ(tree.match("bbbbbbbbbb").max_matched_units, 10);
  // Re-inserting b makes it recent, so c goes next.
  tree.insert("bbbbbbbbbb", "w");
  tree.insert("dddddddddd", "w");
  EXPECT_EQ(tree.match("bbbbbbbbbb").max_matched_units, 10);
  EXPECT_EQ(tree.match("cccccccccc").max_matched_units, 0);
  EXPECT_EQ(tree.check_invariants(), "");
}

TEST(RadixTree, EvictionTrimsLeavesBeforeSharedPrefixes) {
  RadixTree tree(KeyKind::kText, 12);
  tree.insert("prefix-one", "w");  // 10
  tree.insert("prefix-two", "w");  // shares "prefix-" (7): 13 -> trims the leaf "one" (3)
  EXPECT_EQ(tree.worker_units("w"), 10);
  auto m = tree.match("prefix-one");
  EXPECT_EQ(m.max_matched_units, 7);
  EXPECT_EQ(tree.match("prefix-two").max_matched_units, 10);
  EXPECT_EQ(tree.check_invariants(), "");
}

TEST(RadixTree, RepeatedPrefixAtTheListHeadStillRefreshesTheRestOfThePath) {
  RadixTree tree(KeyKind::kText, 13);
  tree.insert("prefix-one", "w");
  tree.insert("prefix-two", "w");  // LRU: "prefix-", "two", "one"
  EXPECT_EQ(tree.worker_units("w"), 13);
  // "prefix-" already leads the list: it keeps its place, "one" must still move ahead of "two".
  tree.insert("prefix-one", "w");
  EXPECT_EQ(tree.check_invariants(), "");
  tree.insert("prefix-xyz", "w");  // 16 > 13: the oldest leaf, "two", goes
  EXPECT_EQ(tree.worker_units("w"), 13);
  EXPECT_EQ(tree.match("prefix-one").max_matched_units, 10);
  EXPECT_EQ(tree.match("prefix-two").max_matched_units, 7);
  EXPECT_EQ(tree.match("prefix-xyz").max_matched_units, 10);
  EXPECT_EQ(tree.check_invariants(), "");
}

TEST(RadixTree, NodeUsedSinceThroughAChildIsEvictedOnlyAfterThatChild) {
  // Only a key's last node is stamped; an older entry of a node whose child the worker owns is
  // taken off the list, not evicted, and the node comes back at the tail with the child's stamp
  // when that child goes (design doc, invariant 4). All keys start with 'a': one shard, one list.
  RadixTree tree(KeyKind::kText, 6);
  tree.insert("ab", "w");    // "ab" stamped 1
  tree.insert("abcd", "w");  // "cd" stamped 2; "ab" keeps stamp 1 but now owns a child
  tree.insert("aq", "w");    // splits "ab" into "a" + "b"; "q" stamped 3; 5 units
  EXPECT_EQ(tree.worker_units("w"), 5);
  EXPECT_EQ(tree.check_invariants(), "");
  // 8 units: the tail "b" (stamp 1) owns "cd", so it only leaves the list; "cd" (stamp 2) goes,
  // and "b" is back at the tail with stamp 2.
  tree.insert("azzz", "w");
  EXPECT_EQ(tree.worker_units("w"), 6);
  EXPECT_EQ(tree.match("abcd").max_matched_units, 2);
  EXPECT_EQ(tree.match("aq").max_matched_units, 2);
  EXPECT_EQ(tree.match("azzz").max_matched_units, 4);
  EXPECT_EQ(tree.check_invariants(), "");
  // 7 units: now "b" is the oldest owner-leaf and goes; "a" still owns "q" and "zzz".
  tree.insert("ar", "w");
  EXPECT_EQ(tree.worker_units("w"), 6);
  EXPECT_EQ(tree.match("abcd").max_matched_units, 1);
  EXPECT_EQ(tree.match("ar").max_matched_units, 2);
  EXPECT_EQ(tree.match("azzz").max_matched_units, 4);
  EXPECT_EQ(tree.check_invariants(), "");
}

TEST(RadixTree, UnitsOfNonAsciiLabelsAreCountedOnEviction) {
  // Labels that are not ASCII have no stored unit count: it is counted from the label when they
  // are evicted, and must leave the totals exactly at what is left.
  const std::string e_acute = "\xC3\xA9", e_grave = "\xC3\xA8";
  RadixTree tree(KeyKind::kText, 6);
  tree.insert("x" + e_acute + e_acute, "w");  // 3 characters
  // Splits inside the shared character: "x\xC3" (2 unit starts), "\xA9\xC3\xA9" (1), "\xA8" (0).
  tree.insert("x" + e_grave, "w");
  EXPECT_EQ(tree.worker_units("w"), 3);
  // 7 units: the oldest leaf, "\xA9\xC3\xA9" (1 unit), goes.
  tree.insert("y" + e_acute + e_acute + e_acute, "w");
  EXPECT_EQ(tree.worker_units("w"), 6);
  EXPECT_EQ(tree.match("x" + e_acute + e_acute).max_matched_units, 1);  // "x", half an "é"
  EXPECT_EQ(tree.match("x" + e_grave).max_matched_units, 2);
  EXPECT_EQ(tree.check_invariants(), "");
  tree.remove_worker("w");
  EXPECT_EQ(tree.worker_units("w"), 0);
  EXPECT_EQ(tree.stats().nodes, 0);
}

TEST(RadixTree, InsertAfterMatchReusesTheWalkOnlyWhileTheShardIsUnchanged) {
  RadixTree tree(KeyKind::kText, 100);
  tree.insert("abc", "a");
  tree.insert("abcdef", "a");  // "abc" -> "def"
  MatchResult m;
  tree.match("abcdefgh", m);
  EXPECT_EQ(m.max_matched_units, 6);
  const std::string key = "abcdefgh";
  tree.match(key, m);
  tree.insert(key, "b", &m.walk);  // fresh walk: "gh" goes under "def"
  EXPECT_EQ(matched_by(tree, tree.match(key), "b"), 8);
  EXPECT_EQ(tree.check_invariants(), "");
  // The walk's nodes are freed and the text stored again elsewhere: the stale walk is not used.
  tree.match(key, m);
  tree.remove_worker("a");
  tree.remove_worker("b");
  tree.insert("abcdefXY", "c");
  tree.insert(key, "d", &m.walk);
  EXPECT_EQ(matched_by(tree, tree.match(key), "d"), 8);
  EXPECT_EQ(matched_by(tree, tree.match("abcdefXY"), "d"), 6);
  EXPECT_EQ(tree.check_invariants(), "");
}

TEST(RadixTree, SlotsForFollowsWorkerOrderRemovalAndSlotReuse) {
  RadixTree tree(KeyKind::kText, 100);
  tree.insert("abcdef", "a");
  tree.insert("abc", "b");
  std::vector<std::string_view> ids{"a", "b", "c"};
  EXPECT_EQ(lengths_for(tree, "abcdefgh", ids), (std::vector<int64_t>{6, 3, 0}));
  // Same positions, other workers: remembered slots must not leak across ids.
  ids = {"b", "a", "c"};
  EXPECT_EQ(lengths_for(tree, "abcdefgh", ids), (std::vector<int64_t>{3, 6, 0}));
  // "b" leaves and "c" takes its slot: the position that held "b" now names "c".
  tree.remove_worker("b");
  tree.insert("abcd", "c");
  ids = {"b", "a", "c"};
  EXPECT_EQ(lengths_for(tree, "abcdefgh", ids), (std::vector<int64_t>{0, 6, 4}));
  ids = {"c", "a", "b"};
  EXPECT_EQ(lengths_for(tree, "abcdefgh", ids), (std::vector<int64_t>{4, 6, 0}));
  // "b" comes back in a new slot.
  tree.insert("ab", "b");
  ids = {"b", "a", "c"};
  EXPECT_EQ(lengths_for(tree, "abcdefgh", ids), (std::vector<int64_t>{2, 6, 4}));
  // Another tree on the same thread: its slots are not this tree's.
  RadixTree other(KeyKind::kText, 100);
  other.insert("abcdefgh", "c");
  other.insert("abc", "a");
  EXPECT_EQ(lengths_for(other, "abcdefgh", ids), (std::vector<int64_t>{0, 3, 8}));
  // Nothing matched: all zero.
  EXPECT_EQ(lengths_for(tree, "zzz", ids), (std::vector<int64_t>{0, 0, 0}));
}

// An id the tree does not know is remembered as unknown per position, but only while no worker
// is added or removed and only for that same id.
TEST(RadixTree, ResolveRemembersUnknownIdsOnlyWhileTheRegistryIsUnchanged) {
  RadixTree tree(KeyKind::kText, 100);
  tree.insert("abc", "a");
  std::vector<std::string_view> ids{"a", "b"};
  Candidates c;
  tree.resolve(ids, c);
  EXPECT_NE(c[0].slot, kNoSlot);
  EXPECT_EQ(c[1].slot, kNoSlot);
  tree.resolve(ids, c);  // answered from what it remembers
  EXPECT_EQ(c[1].slot, kNoSlot);
  tree.insert("abd", "b");  // "b" becomes known
  tree.resolve(ids, c);
  ASSERT_NE(c[1].slot, kNoSlot);
  EXPECT_EQ(lengths_for(tree, "abdx", ids), (std::vector<int64_t>{2, 3}));
  // A position that held an unknown id now holds a known one, with the registry unchanged.
  tree.insert("zz", "c");
  ids = {"a", "x"};
  tree.resolve(ids, c);
  EXPECT_EQ(c[1].slot, kNoSlot);
  ids = {"a", "c"};
  tree.resolve(ids, c);
  EXPECT_EQ(c[1].slot, tree.slot_of("c"));
  // Removal makes a known id unknown again.
  tree.remove_worker("c");
  tree.resolve(ids, c);
  EXPECT_EQ(c[1].slot, kNoSlot);
}

// The same Candidates through a shorter list and the longer one again: the position index
// follows, so a worker no longer listed is no holder, and one listed again is.
TEST(RadixTree, ResolvedCandidatesFollowAShorterAndALongerList) {
  RadixTree tree(KeyKind::kText, 100);
  tree.insert("abc", "a");
  tree.insert("abd", "b");
  tree.insert("abe", "c");
  Candidates c;
  BestMatch best;
  std::vector<size_t> holders;
  const auto best_of = [&](std::string_view key) {
    tree.match(key, c, best);
    c.holders(best.owners, holders);
    return std::pair{best.units, holders};
  };
  using Best = std::pair<int64_t, std::vector<size_t>>;
  tree.resolve(std::vector<std::string_view>{"a", "b", "c"}, c);
  EXPECT_EQ(best_of("abe"), (Best{3, {2}}));
  tree.resolve(std::vector<std::string_view>{"a", "b"}, c);
  EXPECT_EQ(c.size(), 2u);
  EXPECT_EQ(best_of("abe"), (Best{2, {0, 1}}));  // "c" (position 2) is gone
  tree.resolve(std::vector<std::string_view>{"a", "b", "c"}, c);
  EXPECT_EQ(best_of("abe"), (Best{3, {2}}));
  tree.resolve(std::vector<std::string_view>{"c", "a"}, c);
  EXPECT_EQ(best_of("abe"), (Best{3, {0}}));
  EXPECT_EQ(best_of("abd"), (Best{2, {0, 1}}));
}

TEST(RadixTree, BestMatchAmongCandidatesReadsFromTheDeepestStepUp) {
  RadixTree tree(KeyKind::kText, 100);
  tree.insert("abcdef", "a");
  tree.insert("abcdef", "b");
  tree.insert("abc", "c");
  tree.insert("abcdefgh", "d");
  using Best = std::pair<int64_t, std::vector<size_t>>;
  const std::string key = "abcdefghij";
  EXPECT_EQ(best_among(tree, key, {"c", "a", "b", "x", "d"}), (Best{8, {4}}));
  // Without "d" (unavailable): "a" and "b" tie at 6, in the candidates' order.
  EXPECT_EQ(best_among(tree, key, {"c", "a", "b", "x"}), (Best{6, {1, 2}}));
  // A worker listed twice is a holder at both positions.
  EXPECT_EQ(best_among(tree, key, {"c", "c"}), (Best{3, {0, 1}}));
  EXPECT_EQ(best_among(tree, key, {"b", "x", "b", "a"}), (Best{6, {0, 2, 3}}));
  // No candidate on the path: 0 and nobody; the input is still counted.
  Candidates c;
  tree.resolve(std::vector<std::string_view>{"x"}, c);
  BestMatch best;
  tree.match(key, c, best);
  EXPECT_EQ(best.units, 0);
  EXPECT_TRUE(best.owners.empty());
  EXPECT_EQ(best.input_units, 10);
  // Candidates resolved by another tree name nobody here.
  RadixTree other(KeyKind::kText, 100);
  other.insert("abcdef", "a");
  tree.resolve(std::vector<std::string_view>{"a"}, c);
  other.match(key, c, best);
  EXPECT_EQ(best.units, 0);
  EXPECT_EQ(tree.match(key).matched_units(kNoSlot), 0);
}

// The insert answers what the worker held of the key before, by the same rules as a match (a
// unit cut by the end of what it holds does not count).
TEST(RadixTree, InsertAnswersWhatTheWorkerHeldBefore) {
  RadixTree tree(KeyKind::kText, 100);
  EXPECT_EQ(tree.insert("abcdef", "a"), 0);
  EXPECT_EQ(tree.insert("abcxyz", "a"), 3);
  EXPECT_EQ(tree.insert("abcxyz", "a"), 6);
  EXPECT_EQ(tree.insert("abcxyz", "b"), 0);
  EXPECT_EQ(tree.insert("ab", "b"), 2);
  const std::string e_acute = "\xC3\xA9", e_grave = "\xC3\xA8";
  tree.insert("x" + e_acute, "c");
  EXPECT_EQ(tree.insert("x" + e_grave, "c"), 1);         // "x" and half a character
  EXPECT_EQ(tree.insert("x" + e_acute + "yz", "c"), 2);  // a label with a two-byte character
  RadixTree ids(KeyKind::kTokenIds, 100);
  const std::vector<int32_t> a{1, 2, 3}, b{1, 2, 4};
  ids.insert(token_key(a), "w");
  EXPECT_EQ(ids.insert(token_key(b), "w"), 2);
}

// A ref from resolve() spares the insert the id lookup; a stale one (the worker was removed and
// its slot reused) falls back to the id.
TEST(RadixTree, InsertByRefFallsBackToTheIdWhenTheRefIsStale) {
  RadixTree tree(KeyKind::kText, 100);
  tree.insert("abc", "a");
  Candidates c;
  const std::vector<std::string_view> ids{"a"};
  tree.resolve(ids, c);
  const WorkerRef ref = c[0];
  // The id in a buffer this thread's id cache has not seen: a lookup by id would miss it.
  const std::string a = "a";
  EXPECT_EQ(tree.insert("abcd", a, nullptr, ref), 3);
  EXPECT_EQ(tree.stats().id_cache_misses, 1);
  EXPECT_EQ(tree.insert("abcde", a), 4);  // by id
  EXPECT_EQ(tree.stats().id_cache_misses, 2);
  tree.remove_worker("a");
  tree.insert("zz", "b");  // takes the freed slot under a new generation
  EXPECT_EQ(tree.slot_of("b"), ref.slot);
  EXPECT_EQ(tree.stats().id_cache_misses, 3);
  EXPECT_EQ(tree.insert("abx", "a", nullptr, ref), 0);
  EXPECT_EQ(tree.stats().id_cache_misses, 4);  // "a" is looked up again
  EXPECT_EQ(lengths_for(tree, "abxq", {"a", "b"}), (std::vector<int64_t>{3, 0}));
  EXPECT_EQ(lengths_for(tree, "zz", {"a", "b"}), (std::vector<int64_t>{0, 2}));
  EXPECT_EQ(tree.check_invariants(), "");
}

// Continuation bytes before a key's first character belong to no character: a match that stops
// among them matched nothing (it once came out as -1).
TEST(RadixTree, LeadingContinuationBytesCountAsNothing) {
  RadixTree tree(KeyKind::kText, 100);
  tree.insert("\x80\x81", "a");
  const MatchResult m = tree.match("\x80\x82");
  EXPECT_EQ(m.input_units, 0);
  EXPECT_EQ(m.max_matched_units, 0);
  EXPECT_EQ(matched_by(tree, m, "a"), 0);
  EXPECT_EQ(best_among(tree, "\x80\x82", {"a"}), (std::pair<int64_t, std::vector<size_t>>{0, {}}));
  // A character after them counts once it is whole.
  tree.insert("\x80\xC3\xA9z", "a");
  EXPECT_EQ(tree.match("\x80\xC3\xA9y").max_matched_units, 1);
  EXPECT_EQ(tree.match("\x80\xC3\xAAy").max_matched_units, 0);
}

// A prefix shared by hundreds of workers: its owner table grows, loses most owners in an order
// that moves the last one into each hole, shrinks, and grows again with reused slots.
TEST(RadixTree, WideOwnerTablesFollowGrowthRemovalAndReuse) {
  RadixTree tree(KeyKind::kText, 1000);
  const std::string prefix = "a shared system prompt / ";
  std::vector<std::string> ids;
  for (int w = 0; w < 700; ++w) ids.push_back(std::string("w").append(std::to_string(w)));
  const auto key_of = [&](size_t w) { return prefix + std::to_string(w); };
  for (size_t w = 0; w < ids.size(); ++w) tree.insert(key_of(w), ids[w]);
  ASSERT_EQ(tree.check_invariants(), "");
  // Each worker is found in the wide table: it held its whole key, and another key's prefix.
  for (size_t w = 0; w < ids.size(); w += 7) {
    EXPECT_EQ(tree.insert(key_of(w), ids[w]), static_cast<int64_t>(key_of(w).size()));
    EXPECT_EQ(tree.insert(prefix + "z", ids[w]), static_cast<int64_t>(prefix.size()));
  }
  ASSERT_EQ(tree.check_invariants(), "");
  for (size_t w = 0; w < ids.size(); ++w) {
    if (w % 5 != 0) tree.remove_worker(ids[(w * 37) % ids.size()]);
    if (w % 100 == 0) {
      ASSERT_EQ(tree.check_invariants(), "") << w;
    }
  }
  ASSERT_EQ(tree.check_invariants(), "");
  size_t kept = 0;
  for (size_t w = 0; w < ids.size(); ++w) {
    const bool left = tree.worker_units(ids[w]) == 0;
    kept += left ? 0 : 1;
    EXPECT_EQ(tree.insert(prefix + "q", ids[w]), left ? 0 : static_cast<int64_t>(prefix.size()));
  }
  EXPECT_EQ(kept, 140u);
  ASSERT_EQ(tree.check_invariants(), "");
  for (size_t w = 0; w < ids.size(); ++w) {
    EXPECT_EQ(tree.insert(prefix + "q", ids[w]), static_cast<int64_t>(prefix.size() + 1));
  }
  ASSERT_EQ(tree.check_invariants(), "");
}

// Characters are counted sixteen and eight bytes at a time, the last few as an overlapping word:
// every length, alignment and byte mix agrees with counting byte by byte, past the 4080 bytes a
// lane counts before the lanes are summed.
TEST(RadixTree, CountsCharactersLikeAByteLoop) {
  std::mt19937_64 rng(5);
  const auto naive = [](std::string_view s) {
    int64_t n = 0;
    for (const char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80 ? 1 : 0;
    return n;
  };
  std::string buf(70000 + 16, 'a');
  for (auto& c : buf) {
    const uint64_t r = rng();
    c = static_cast<char>(r % 3 == 0   ? 0x80 | (r >> 8) % 64
                          : r % 3 == 1 ? 0xC3
                                       : 'a' + (r >> 8) % 26);
  }
  for (size_t len = 0; len < 300; ++len) {
    for (size_t offset = 0; offset < 16; offset += 5) {
      const std::string_view s(buf.data() + offset, len);
      ASSERT_EQ(count_units(KeyKind::kText, s), naive(s)) << len << " at " << offset;
    }
  }
  for (const size_t len : {4079u, 4080u, 4081u, 4096u, 8175u, 65536u, 70000u}) {
    const std::string_view s(buf.data() + 3, len);
    ASSERT_EQ(count_units(KeyKind::kText, s), naive(s)) << len;
  }
  // Nothing but continuation bytes: every lane counts on every block.
  const std::string all(70000, '\x80');
  EXPECT_EQ(count_units(KeyKind::kText, all), 0);
}

TEST(RadixTree, EvictionIsPerWorker) {
  RadixTree tree(KeyKind::kText, 10);
  tree.insert("0123456789", "a");
  tree.insert("0123456789", "b");
  tree.insert("abcdefghij", "b");  // b over budget: only b loses "0123456789"
  auto m = tree.match("0123456789");
  EXPECT_EQ(matched_by(tree, m, "a"), 10);
  EXPECT_EQ(matched_by(tree, m, "b"), 0);
  EXPECT_EQ(tree.worker_units("a"), 10);
  EXPECT_EQ(tree.worker_units("b"), 10);
  EXPECT_EQ(tree.check_invariants(), "");
}

TEST(RadixTree, KeyLongerThanBudgetIsNotKept) {
  RadixTree tree(KeyKind::kText, 5);
  tree.insert("0123456789", "a");
  EXPECT_LE(tree.worker_units("a"), 5);
  EXPECT_EQ(tree.check_invariants(), "");
}

TEST(RadixTree, RemoveWorkerDropsOnlyItsOwnership) {
  RadixTree tree(KeyKind::kText, 1000);
  tree.insert("shared prefix A", "a");
  tree.insert("shared prefix B", "b");
  tree.remove_worker("a");
  EXPECT_EQ(tree.worker_units("a"), 0);
  EXPECT_FALSE(tree.slot_of("a").has_value());
  auto m = tree.match("shared prefix A");
  EXPECT_EQ(m.max_matched_units, 14);
  ASSERT_EQ(m.steps.size(), 1u);  // one node, owned by "b" alone
  ASSERT_EQ(m.steps[0].owners_end - m.steps[0].owners_begin, 1u);
  EXPECT_EQ(matched_by(tree, m, "b"), 14);
  EXPECT_EQ(tree.check_invariants(), "");
  // The slot is reused cleanly.
  tree.insert("zzz", "c");
  EXPECT_EQ(tree.worker_units("c"), 3);
  EXPECT_EQ(tree.check_invariants(), "");
}

// Inserts find a worker's slot through a per-thread cache keyed by the id's address and checked
// by content, liveness and slot generation: one string buffer that names different workers in
// turn, removal and re-adding, a slot reused by another id, and a second tree must all miss it.
TEST(RadixTree, SlotCacheFollowsIdsRemovalReuseAndTrees) {
  std::string id = "a";  // one buffer (small-string) for every id below
  {
    RadixTree tree(KeyKind::kText, 1000);
    tree.insert("aaaa", id);
    id = "b";
    tree.insert("bb", id);
    EXPECT_EQ(tree.worker_units("a"), 4);
    EXPECT_EQ(tree.worker_units("b"), 2);
    tree.remove_worker("b");
    tree.insert("bbb", id);  // cached slot no longer live: a new slot
    EXPECT_EQ(tree.worker_units("b"), 3);
    tree.remove_worker("a");
    id = "c";
    tree.insert("cc", id);  // takes a's old slot
    id = "a";
    tree.insert("a", id);  // a again, in another slot than the cache's
    EXPECT_EQ(tree.worker_units("a"), 1);
    EXPECT_EQ(tree.worker_units("c"), 2);
    EXPECT_EQ(tree.worker_units("b"), 3);
    EXPECT_EQ(tree.check_invariants(), "");
  }
  RadixTree other(KeyKind::kText, 1000);  // perhaps at the same address
  other.insert("xyz", id);
  EXPECT_EQ(other.worker_units("a"), 3);
  EXPECT_EQ(other.stats().workers.size(), 1u);
  EXPECT_EQ(other.check_invariants(), "");
}

// More ids than half the cache's entries, so they keep evicting each other, and ids longer than
// an entry holds bypass it: every insert must still land on its own worker.
TEST(RadixTree, SlotCacheKeepsManyAndLongIdsApart) {
  RadixTree tree(KeyKind::kText, 1000);
  std::vector<std::string> ids, keys;
  for (int i = 0; i < 3000; ++i) {
    ids.emplace_back(i % 3 == 0 ? 40 : 0, 'x');
    ids.back().append("w").append(std::to_string(i));
    keys.emplace_back("k");
    keys.back().append(std::to_string(i));
  }
  for (int round = 0; round < 2; ++round) {
    for (size_t i = 0; i < ids.size(); ++i) tree.insert(keys[i], ids[i]);
  }
  for (size_t i = 0; i < ids.size(); ++i) {
    ASSERT_EQ(tree.worker_units(ids[i]), static_cast<int64_t>(1 + std::to_string(i).size()))
        << ids[i];
  }
  EXPECT_EQ(tree.check_invariants(), "");
}

// Hundreds of workers used in turn, as a router with a big fleet does: once each was seen, an
// insert finds its id in the thread's cache instead of the registry.
TEST(RadixTree, SlotCacheHoldsHundredsOfWorkersUsedInTurn) {
  RadixTree tree(KeyKind::kText, 1000);
  std::vector<std::string> ids;
  for (int i = 0; i < 512; ++i) {
    ids.emplace_back("http://worker-");
    ids.back().append(std::to_string(i)).append(":8000");
  }
  auto round = [&] {
    for (size_t i = 0; i < ids.size(); ++i) {
      std::string key = "k";
      tree.insert(key.append(std::to_string(i % 7)), ids[i]);
    }
  };
  round();
  EXPECT_EQ(tree.stats().id_cache_misses, 512);
  round();
  const int64_t settled = tree.stats().id_cache_misses;
  round();
  round();
  EXPECT_LE(tree.stats().id_cache_misses - settled, 5);  // of 1024 inserts
  EXPECT_EQ(tree.check_invariants(), "");
}

TEST(RadixTree, ClearForgetsEverything) {
  RadixTree tree(KeyKind::kText, 1000);
  tree.insert("abc", "a");
  tree.insert("xyz", "b");
  tree.clear();
  EXPECT_EQ(tree.worker_units("a"), 0);
  EXPECT_EQ(tree.match("abc").max_matched_units, 0);
  EXPECT_EQ(tree.stats().nodes, 0);
  tree.insert("abc", "a");
  EXPECT_EQ(tree.worker_units("a"), 3);
  EXPECT_EQ(tree.check_invariants(), "");
}

TEST(RadixTree, StatsReportSizes) {
  RadixTree tree(KeyKind::kText, 1000);
  tree.insert("hello world", "a");
  tree.insert("hello there", "b");
  auto s = tree.stats();
  EXPECT_EQ(s.nodes, 3);          // "hello ", "world", "there"
  EXPECT_EQ(s.stored_units, 16);  // shared prefix counted once
  EXPECT_GT(s.memory_bytes, s.stored_bytes);
  ASSERT_EQ(s.workers.size(), 2u);
  EXPECT_EQ(s.workers[0].id, "a");
  EXPECT_EQ(s.workers[0].units, 11);
  EXPECT_EQ(s.workers[0].nodes, 2);
}

}  // namespace
}  // namespace dpserve::router::tree
