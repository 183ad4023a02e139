#include <bits/stdc++.h>
using namespace std;

template <typename T>
class SegTree {
public:
    SegTree(int n) : n_(n), t_(2 * n, T()) {}
    void update(int p, T value) {
        for (t_[p += n_] = value; p > 1; p >>= 1) t_[p >> 1] = t_[p] + t_[p ^ 1];
    }
    T query(int l, int r) const {
        T res = T();
        for (l += n_, r += n_; l < r; l >>= 1, r >>= 1) {
            if (l & 1) res = res + t_[l++];
            if (r & 1) res = res + t_[--r];
        }
        return res;
    }
private:
    int n_;
    vector<T> t_;
};

long long rangeSum(const vector<int>& a, int l, int r) {
    SegTree<long long> st(a.size());
    for (size_t i = 0; i < a.size(); ++i) st.update(i, a[i]);
    return st.query(l, r);
}
