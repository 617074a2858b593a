module github.com/h2arnn/h2arnn

go 1.26
