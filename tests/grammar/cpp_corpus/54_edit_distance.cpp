#include <string>
#include <vector>
#include <algorithm>
using namespace std;

int editDistance(const string& a, const string& b) {
    int n = a.size(), m = b.size();
    vector<vector<int>> dp(n + 1, vector<int>(m + 1));
    for (int i = 0; i <= n; ++i) dp[i][0] = i;
    for (int j = 0; j <= m; ++j) dp[0][j] = j;
    for (int i = 1; i <= n; ++i) {
        for (int j = 1; j <= m; ++j) {
            int sub = dp[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            dp[i][j] = min({sub, dp[i - 1][j] + 1, dp[i][j - 1] + 1});
        }
    }
    return dp[n][m];
}
