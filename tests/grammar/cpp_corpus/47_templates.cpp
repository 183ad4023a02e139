#include <vector>
#include <map>
#include <utility>
using namespace std;

template <typename T>
T clampValue(T v, T lo, T hi) {
    return v < lo ? lo : (hi < v ? hi : v);
}

template <class K, class V>
vector<pair<K, V>> toPairs(const map<K, V>& m) {
    vector<pair<K, V>> out;
    out.reserve(m.size());
    for (typename map<K, V>::const_iterator it = m.begin(); it != m.end(); ++it)
        out.push_back(make_pair(it->first, it->second));
    return out;
}

template <typename T, int N>
struct FixedStack {
    T data[N];
    int top = 0;
    void push(const T& v) { data[top++] = v; }
    T pop() { return data[--top]; }
    bool empty() const { return top == 0; }
};

int useTemplates() {
    FixedStack<int, 8> s;
    s.push(clampValue<int>(12, 0, 10));
    map<int, vector<vector<int>>> m;
    m[1] = {{1, 2}, {3}};
    auto ps = toPairs(m);
    return s.pop() + (int)ps.size();
}
