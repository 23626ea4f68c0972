package dist

import (
	"strings"
	"testing"
)

// The launcher's environment gives the rank count; none means 0.
func TestLaunched(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want int
	}{
		{map[string]string{}, 0},
		{map[string]string{"OMPI_COMM_WORLD_SIZE": "4"}, 4},
		{map[string]string{"PMI_SIZE": "2"}, 2},
		{map[string]string{"OMPI_COMM_WORLD_SIZE": "x"}, 0},
	} {
		for _, v := range []string{"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE"} {
			t.Setenv(v, tc.env[v])
		}
		if got := Launched(); got != tc.want {
			t.Errorf("%v: Launched() = %d, want %d", tc.env, got, tc.want)
		}
	}
}

// Without the library, Open fails with one line naming it and the fix.
func TestOpenMissingLibrary(t *testing.T) {
	t.Setenv("MHC_LIBMPI", "libmpi-that-does-not-exist.so")
	_, err := Open(0)
	if err == nil || !strings.Contains(err.Error(), "libmpi-that-does-not-exist.so") || !strings.Contains(err.Error(), "openmpi-bin") {
		t.Fatalf("Open without MPI: %v", err)
	}
}
