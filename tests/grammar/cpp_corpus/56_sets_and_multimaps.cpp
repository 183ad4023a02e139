#include <set>
#include <map>
#include <vector>
using namespace std;

vector<int> kSmallestPairsSums(const vector<int>& a, const vector<int>& b, int k) {
    multiset<int> best;
    for (int x : a)
        for (int y : b) {
            best.insert(x + y);
            if ((int)best.size() > k) best.erase(prev(best.end()));
        }
    return vector<int>(best.begin(), best.end());
}

int countDistinctInWindows(const vector<int>& a, int w) {
    map<int, int> cnt;
    int total = 0;
    for (int i = 0; i < (int)a.size(); ++i) {
        cnt[a[i]]++;
        if (i >= w && --cnt[a[i - w]] == 0) cnt.erase(a[i - w]);
        if (i >= w - 1) total += cnt.size();
    }
    set<pair<int, int>> s{{1, 2}, {3, 4}};
    return total + (int)s.count({1, 2});
}
