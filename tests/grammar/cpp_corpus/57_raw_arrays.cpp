#include <cstring>
#include <cstdio>
using namespace std;

const int MAXN = 1005;
int dp[MAXN][MAXN];
char buf[256];

int lcsLength(const char* a, const char* b) {
    int n = strlen(a), m = strlen(b);
    memset(dp, 0, sizeof(dp));
    for (int i = 1; i <= n; i++)
        for (int j = 1; j <= m; j++)
            dp[i][j] = a[i - 1] == b[j - 1] ? dp[i - 1][j - 1] + 1
                                             : (dp[i - 1][j] > dp[i][j - 1] ? dp[i - 1][j] : dp[i][j - 1]);
    return dp[n][m];
}

int readAndSum() {
    int n, x, sum = 0;
    if (scanf("%d", &n) != 1) return -1;
    for (int i = 0; i < n; ++i) {
        scanf("%d", &x);
        sum += x;
    }
    snprintf(buf, sizeof buf, "%d\n", sum);
    printf("%s", buf);
    return sum;
}
