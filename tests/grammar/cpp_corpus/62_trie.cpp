#include <string>
#include <array>
#include <memory>
using namespace std;

struct TrieNode {
    array<TrieNode*, 26> child{};
    bool end = false;
};

class Trie {
    TrieNode* root = new TrieNode();
public:
    void insert(const string& w) {
        TrieNode* cur = root;
        for (char c : w) {
            int k = c - 'a';
            if (!cur->child[k]) cur->child[k] = new TrieNode();
            cur = cur->child[k];
        }
        cur->end = true;
    }
    bool search(const string& w) const {
        const TrieNode* cur = root;
        for (char c : w) {
            cur = cur->child[c - 'a'];
            if (cur == nullptr) return false;
        }
        return cur->end;
    }
};
