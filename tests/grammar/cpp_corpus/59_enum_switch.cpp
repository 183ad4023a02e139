#include <string>
using namespace std;

enum class Color { Red, Green, Blue };
enum Dir { UP = 0, DOWN = 1, LEFT, RIGHT };

string colorName(Color c) {
    switch (c) {
        case Color::Red: return "red";
        case Color::Green: return "green";
        case Color::Blue: return "blue";
    }
    return "?";
}

int move(Dir d, int pos) {
    switch (d) {
    case UP:
    case DOWN:
        pos += d == UP ? -10 : 10;
        break;
    case LEFT: {
        pos -= 1;
        break;
    }
    default:
        pos += 1;
    }
    return pos;
}
