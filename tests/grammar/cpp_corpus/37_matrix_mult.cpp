#include <vector>
using namespace std;
using Matrix = vector<vector<long long>>;
const long long MOD = 1000000007LL;

Matrix multiply(const Matrix& a, const Matrix& b) {
    int n = a.size(), m = b[0].size(), k = b.size();
    Matrix c(n, vector<long long>(m, 0));
    for (int i = 0; i < n; i++)
        for (int j = 0; j < m; j++)
            for (int t = 0; t < k; t++)
                c[i][j] = (c[i][j] + a[i][t] * b[t][j]) % MOD;
    return c;
}

Matrix power(Matrix base, long long e) {
    int n = base.size();
    Matrix result(n, vector<long long>(n, 0));
    for (int i = 0; i < n; i++) result[i][i] = 1;
    while (e > 0) {
        if (e & 1) result = multiply(result, base);
        base = multiply(base, base);
        e >>= 1;
    }
    return result;
}
