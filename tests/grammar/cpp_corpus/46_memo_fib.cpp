#include <unordered_map>
#include <functional>
using namespace std;

long long fibMemo(int n) {
    unordered_map<int, long long> memo;
    function<long long(int)> go = [&](int k) -> long long {
        if (k < 2) return k;
        auto it = memo.find(k);
        if (it != memo.end()) return it->second;
        long long r = go(k - 1) + go(k - 2);
        memo[k] = r;
        return r;
    };
    return go(n);
}
