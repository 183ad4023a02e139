#include <vector>
using namespace std;
typedef vector<vector<long long>> vvl;

vvl buildPrefix(const vector<vector<int>>& a) {
    int n = a.size(), m = n ? a[0].size() : 0;
    vvl p(n + 1, vector<long long>(m + 1, 0));
    for (int i = 0; i < n; ++i)
        for (int j = 0; j < m; ++j)
            p[i + 1][j + 1] = p[i][j + 1] + p[i + 1][j] - p[i][j] + a[i][j];
    return p;
}

long long rectSum(const vvl& p, int r1, int c1, int r2, int c2) {
    return p[r2 + 1][c2 + 1] - p[r1][c2 + 1] - p[r2 + 1][c1] + p[r1][c1];
}
