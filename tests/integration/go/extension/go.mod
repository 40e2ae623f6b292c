module lamina.test/extension

go 1.21
