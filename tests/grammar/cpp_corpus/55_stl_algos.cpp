#include <bits/stdc++.h>
using namespace std;

long long stlMix(vector<int> v) {
    sort(v.begin(), v.end(), greater<int>());
    v.erase(unique(v.begin(), v.end()), v.end());
    long long total = accumulate(v.begin(), v.end(), 0LL);
    int evens = count_if(v.begin(), v.end(), [](int x) { return x % 2 == 0; });
    bool anyNeg = any_of(v.begin(), v.end(), [](int x) { return x < 0; });
    vector<int> sq(v.size());
    transform(v.begin(), v.end(), sq.begin(), [](int x) { return x * x; });
    auto mm = minmax_element(sq.begin(), sq.end());
    reverse(v.begin(), v.end());
    rotate(v.begin(), v.begin() + (v.empty() ? 0 : 1), v.end());
    return total + evens - (anyNeg ? 1 : 0) + (sq.empty() ? 0 : *mm.second - *mm.first);
}
